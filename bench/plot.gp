# plot.gp — draws bench/results/latest.png from the data bench/report.py
# writes.  Called by scripts/bench.sh as
#   gnuplot -e "data='bench/results/plot'; output='bench/results/latest.png'" bench/plot.gp
# Top: rates, ours against the baseline, per comparison (log scale: events/s
# and MB/s side by side).  Bottom: latency percentiles p50/p95/p99 (log scale:
# sub-millisecond appends next to sequencer latencies).
set terminal pngcairo size 1600,1200 font ",10" noenhanced
set output output
set multiplot layout 2,1 title "pg_eventstore bench (make bench)"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -30 left nomirror
set rmargin 26
set grid ytics
set logscale y
set key outside top right vertical

# A partial run (scripts/bench.sh NAME) may have no rows of one kind: an
# empty panel then says so instead of gnuplot failing on an empty file.
rows(file) = int(system("grep -vc '^#' ".file))
empty_panel(text) = sprintf("set title '%s'; unset logscale y; plot [0:1][0:1] NaN notitle; set logscale y", text)

set title "rates: ours vs baseline (higher is better)"
set ylabel "rate (unit in label)"
set bmargin 8
if (rows(data.'.rates.dat') > 0) {
    plot data.'.rates.dat' using 2:xtic(1) title "ours" lc rgb "#1f77b4", \
         '' using 3 title "baseline" lc rgb "#aaaaaa"
} else {
    eval empty_panel("no rate comparisons in this report")
}

set title "latency percentiles (lower is better)"
set ylabel "ms"
set bmargin 12
if (rows(data.'.latency.dat') > 0) {
    plot data.'.latency.dat' using 2:xtic(1) title "p50" lc rgb "#2ca02c", \
         '' using 3 title "p95" lc rgb "#ff7f0e", \
         '' using 4 title "p99" lc rgb "#d62728"
} else {
    eval empty_panel("no latency figures in this report")
}
unset multiplot
