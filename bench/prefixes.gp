# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Plot for bench/run.sh: gnuplot -e "datafile='...'; outdir='...'" bench/prefixes.gp
# Columns: prefixes miss(med min max) hit(med min max) load_seconds trie_bytes near(med min max)
set terminal pngcairo size 900,500 noenhanced
set logscale x
set xlabel "prefixes in deny from (random /24s)"
set grid
set key top left
set output outdir."/prefixes-cost.png"
set title "portcullis per-packet cost vs source-list prefixes (BPF_PROG_TEST_RUN, median, min-max bars)"
set ylabel "ns per packet"
set yrange [0:*]
plot datafile using ($1 > 0 ? $1 : 1/0):2:3:4 with yerrorlines lw 2 title "source in no list, nor its /16 (allowed SYN)", \
     datafile using ($1 > 0 ? $1 : 1/0):10:11:12 with yerrorlines lw 2 title "source in no list, its /16 in one (allowed SYN)", \
     datafile using ($1 > 0 ? $1 : 1/0):5:6:7 with yerrorlines lw 2 title "source in a denied prefix"
