# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Plots for bench/run.sh: gnuplot -e "datafile='...'; outdir='...'" bench/scaling.gp
# Columns: ports allowed(med min max) denied(med min max) bare(med min max) memlock_bytes
set terminal pngcairo size 900,500 noenhanced
set logscale x
set xlabel "allowed TCP ports"
set grid
set key top left

set output outdir."/scaling-cost.png"
set title "portcullis per-packet cost vs allowed ports (BPF_PROG_TEST_RUN, median, min-max bars)"
set ylabel "ns per packet"
set yrange [0:*]
plot datafile using 1:2:3:4 with yerrorlines lw 2 title "SYN to an allowed port", \
     datafile using 1:5:6:7 with yerrorlines lw 2 title "SYN to a denied port", \
     datafile using 1:8:9:10 with yerrorlines lw 2 title "bare XDP_PASS (floor)"

set output outdir."/scaling-memory.png"
set title "portcullis map memory vs allowed ports (kernel memlock, all maps)"
set ylabel "MiB"
plot datafile using 1:($11/1048576) with linespoints lw 2 title "all maps"
