# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Plot for bench/run.sh: gnuplot -e "datafile='...'; outdir='...'" bench/sources.gp
# Columns: sources bare(med min max) portcullis(med min max) scan-detect(med min max)
set terminal pngcairo size 900,500 noenhanced
set logscale x
set xlabel "distinct sources in the flood (IPv6)"
set grid
set key top right

set output outdir."/sources-cost.png"
set title "receiver cost per frame vs distinct sources (live frames, median, min-max bars)"
set ylabel "ns per frame, receiver"
set yrange [0:*]
plot datafile using 1:8:9:10 with yerrorlines lw 2 title "portcullis + scan-detect", \
     datafile using 1:5:6:7 with yerrorlines lw 2 title "portcullis, scan-detect off", \
     datafile using 1:2:3:4 with yerrorlines lw 2 title "bare XDP_DROP"
