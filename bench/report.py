"""report.py — turns the scenarios' JSON results into the bench report.

    report.py RAW_DIR LATEST_MD PLOT_PREFIX RUNTIME_S [BROKEN_SCENARIO...]

Prints the table (scenario, ours, baseline, ratio, target, met / not met),
writes LATEST_MD (bench/results/latest.md: figures, dates, machine,
durations, PostgreSQL settings, notes) and the data bench/plot.gp draws:
PLOT_PREFIX.rates.dat and PLOT_PREFIX.latency.dat.

Every JSON in RAW_DIR is reported, so after `scripts/bench.sh NAME` the
report shows NAME's new figures next to the other scenarios' earlier ones;
each scenario carries its own measurement date.  Exit status: 0, also when
targets are missed.
"""
import json
import sys
from pathlib import Path

VERDICTS = {True: "met", False: "NOT MET", None: "-"}


def number(value, unit=""):
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".strip()


def ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def load(raw_dir):
    documents = [json.loads(path.read_text()) for path in sorted(Path(raw_dir).glob("*.json"))]
    return sorted(documents, key=lambda d: d.get("order", 0))


def table_rows(documents, broken):
    """[scenario, case, ours, baseline, ratio, target, result] per result row."""
    rows = []
    for document in documents:
        for row in document["rows"]:
            rows.append([document["scenario"], row["case"], number(row.get("ours"), row.get("unit", "")),
                         number(row.get("baseline"), row.get("unit", "")), ratio(row.get("ratio")),
                         row.get("target", "-"), VERDICTS[row.get("met")]])
        if document.get("failure"):
            rows.append([document["scenario"], "BROKEN: " + document["failure"], "", "", "", "", "broken"])
    reported = {d["scenario"] for d in documents}
    for name in broken:
        if name not in reported:
            rows.append([name, "BROKEN before any result (see its output above)", "", "", "", "", "broken"])
    return rows


HEADER = ["scenario", "case", "ours", "baseline", "ratio", "target", "result"]


def print_table(rows):
    widths = [max(len(str(r[i])) for r in rows + [HEADER]) for i in range(len(HEADER))]
    for line in [HEADER, ["-" * w for w in widths]] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip())


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_rows(documents):
    rows = []
    for document in documents:
        for row in document["rows"]:
            for side in ("ours", "baseline"):
                p = row.get(f"{side}_latency_ms") or {}
                if p:
                    label = f"{side}: {row[f'{side}_label']}" if row.get(f"{side}_label") else side
                    rows.append([document["scenario"], row["case"], label,
                                 *(number(p.get(k)) for k in ("p50", "p95", "p99"))])
    return rows


def settings_section(documents):
    """One table of settings, with the value most scenarios ran with, then
    the scenarios that ran with another value (their CLUSTER_CONF)."""
    if not documents:
        return ""
    values = {}
    for document in documents:
        for key, value in document.get("settings", {}).items():
            values.setdefault(key, []).append(value)
    usual = {key: max(set(seen), key=seen.count) for key, seen in values.items()}
    lines = [markdown_table(["setting", "value"], sorted(usual.items())), ""]
    for document in documents:
        own = {k: v for k, v in document.get("settings", {}).items() if v != usual[k]}
        if own:
            lines.append(f"- `{document['scenario']}` ran with "
                         + ", ".join(f"`{k} = {v}`" for k, v in sorted(own.items())))
    return "\n".join(lines)


def write_markdown(path, documents, rows, runtime_s):
    machine = documents[0]["machine"] if documents else {"cores": "?", "cpu": "?"}
    dates = sorted({d["measured_at"] for d in documents})
    scenario_rows = [[d["scenario"], d["title"], d["measured_at"],
                      f"{d['machine']['cores']} cores, {d['machine']['cpu']}",
                      f"{d['elapsed_s']:.0f} s (runs of {d['seconds']} s, {d['rounds']} rounds)",
                      "-" if d.get("cpu_steal") is None else f"{d['cpu_steal']:.0%}",
                      "-" if d.get("fsync_ms") is None else f"{d['fsync_ms']:.2f} ms"]
                     for d in documents]
    notes = [f"- **{d['scenario']} / {row['case']}** ({row.get('duration', '')}): {row['note']}"
             for d in documents for row in d["rows"] if row.get("note")]
    notes += [f"- **{d['scenario']}**: {note}" for d in documents for note in d.get("notes", [])]
    text = f"""# pg_eventstore benchmark results

Written by `make bench` (`scripts/bench.sh`); what each scenario measures and
how to read it: [docs/performance.md](../../docs/performance.md).

- measured: {", ".join(dates) or "-"}
- machine: {machine['cores']} cores, {machine['cpu']} (shared with other work: figures are noisy,
  which is why each is a ratio to a baseline measured in the same run)
- last invocation's runtime: {runtime_s // 60} min {runtime_s % 60} s

## Results

{markdown_table(HEADER, rows)}

A missed target is reported, never a failure of the run.

## Latency percentiles (ms)

Per transaction as pgbench measured it, or, for the sequencer rows, per event
from commit to sequenced.

{markdown_table(["scenario", "case", "side", "p50", "p95", "p99"], latency_rows(documents))}

## Notes

{chr(10).join(notes) or "-"}

## Scenarios, dates, durations

CPU steal: the share of CPU time the hypervisor gave to other guests while
the scenario ran; above a few percent, absolute figures are depressed and
latencies inflated, and only the ratios remain comparable.  fsync: median
8 kB write + fdatasync on the cluster's disk when the scenario started, the
cost of one WAL flush; every durable commit pays it.

{markdown_table(["scenario", "measures", "measured", "machine", "duration", "CPU steal", "fsync"], scenario_rows)}

## PostgreSQL settings

{settings_section(documents)}

![rates and latencies](latest.png)
"""
    Path(path).write_text(text)


def short(label, limit=48):
    """A plot label: quotes gnuplot cannot take replaced, long ones cut."""
    label = label.replace('"', "'")
    return label if len(label) <= limit else label[:limit - 3] + "..."


def write_plot_data(prefix, documents):
    """Rates (rows that have a baseline) and latency percentiles, one line
    each, labels quoted for gnuplot."""
    rates, latencies = [], []
    for document in documents:
        for row in document["rows"]:
            label = short(f"{row['case']} ({row.get('unit', '')})")
            if row.get("baseline") and row.get("ours") is not None and not row.get("unit", "").startswith("ms"):
                rates.append(f'"{label}" {row["ours"]:.3f} {row["baseline"]:.3f}')
            for side in ("ours", "baseline"):
                p = row.get(f"{side}_latency_ms") or {}
                if p:
                    name = short(row["case"] if side == "ours" else f"{row['case']} [{row.get('baseline_label', side)}]")
                    latencies.append(f'"{name}" {p["p50"]:.3f} {p["p95"]:.3f} {p["p99"]:.3f}')
    Path(f"{prefix}.rates.dat").write_text("# label ours baseline\n" + "\n".join(rates) + "\n")
    Path(f"{prefix}.latency.dat").write_text("# label p50 p95 p99\n" + "\n".join(latencies) + "\n")


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    raw_dir, latest_md, plot_prefix, runtime_s, broken = argv[0], argv[1], argv[2], int(argv[3]), argv[4:]
    documents = load(raw_dir)
    rows = table_rows(documents, broken)
    print_table(rows)
    write_markdown(latest_md, documents, rows, runtime_s)
    write_plot_data(plot_prefix, documents)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
