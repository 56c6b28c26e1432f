#!/usr/bin/env python3
"""Turns the per-run JSON of bench/macro.sh into BENCHMARKS.md and an SVG chart (standard library only)."""
import json
import os
import re
import statistics
import sys
from collections import defaultdict

SERVERS = ["udps-level", "udps-oneshot", "udps-addrmap", "udps-portable", "naive-dotnet", "c-mmsg", "c-connected"]
LABELS = {
    "udps-level": "UdpSessions epoll level-triggered (default)",
    "udps-oneshot": "UdpSessions epoll edge-triggered oneshot",
    "udps-addrmap": "UdpSessions epoll engine with `--socket-budget 0` (address map, no socket per session; 64x16, 1024x16 and churn only)",
    "udps-portable": "UdpSessions portable engine",
    "naive-dotnet": "naive .NET (ReceiveFromAsync/SendToAsync)",
    "c-mmsg": "C recvmmsg/sendmmsg, one socket",
    "c-connected": "C connected socket per peer (reference)",
}
STEADY = ["1x16", "64x16", "64x1", "1024x1", "1024x16", "10000x1"]
CHURN = ["churn-1000", "churn-10000"]
REFERENCE = "c-connected"
DEFAULT = "udps-level"
COLORS = ["#1f77b4", "#6baed6", "#17becf", "#9ecae1", "#d62728", "#7f7f7f", "#2ca02c"]


def load(results):
    runs = defaultdict(list)  # (config, server) -> [json]
    for name in sorted(os.listdir(results)):
        m = re.match(r"r(\d+)-(.+)-(" + "|".join(map(re.escape, SERVERS)) + r")\.json$", name)
        if not m:
            continue
        try:
            with open(os.path.join(results, name)) as f:
                runs[(m.group(2), m.group(3))].append(json.load(f))
        except (json.JSONDecodeError, OSError):
            runs[(m.group(2), m.group(3))].append(None)  # the run failed to report: shown as a gap
    return runs


def metric(run, name):
    if run is None:
        return None
    server = run.get("server") or {}
    return {
        "rps": run.get("repliesPerSecond"),
        "us": server.get("cpuMicrosPerReply"),
        "p50": run["latencyMicros"]["p50"],
        "p99": run["latencyMicros"]["p99"],
        "alloc": server.get("allocatedBytesPerReply"),
        "loss": run.get("lossPercent"),
        "integrity": run.get("integrityErrors"),
        "sps": run.get("sessionsAcceptedPerSecond"),
        "us_session": server.get("cpuMicrosPerSession"),
    }[name]


def median(runs, name):
    values = [v for v in (metric(r, name) for r in runs) if v is not None]
    return statistics.median(values) if values else None


def spread(runs, name):
    values = [v for v in (metric(r, name) for r in runs) if v is not None]
    if len(values) < 2 or not statistics.median(values):
        return None
    return (max(values) - min(values)) / statistics.median(values) * 100


def fmt(value, digits=0, suffix=""):
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}{suffix}"


def ratio(value, reference):
    return None if value is None or not reference else value / reference


def steady_table(runs, config):
    ref = runs.get((config, REFERENCE), [])
    ref_us, ref_rps, ref_p99 = median(ref, "us"), median(ref, "rps"), median(ref, "p99")
    lines = [f"#### {config} (sessions x window)", "",
             "| server | replies/s | × ref | server µs/datagram (spread) | × ref | p50 µs | p99 µs (spread) | × ref | alloc B/datagram | loss % | integrity errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for server in SERVERS:
        r = runs.get((config, server), [])
        if not r:
            continue
        us, rps, p99 = median(r, "us"), median(r, "rps"), median(r, "p99")
        s = spread(r, "us")
        s99 = spread(r, "p99")
        integrity = sum(metric(x, "integrity") or 0 for x in r)
        failed = sum(1 for x in r if x is None)
        lines.append(
            f"| {server} | {fmt(rps)} | {fmt(ratio(rps, ref_rps), 2)} | {fmt(us, 2)}{'' if s is None else f' (±{s / 2:.0f} %)'} | "
            f"{fmt(ratio(us, ref_us), 2)} | {fmt(median(r, 'p50'))} | {fmt(p99)}{'' if s99 is None else f' (±{s99 / 2:.0f} %)'} | {fmt(ratio(p99, ref_p99), 2)} | "
            f"{fmt(median(r, 'alloc'), 3) if server.startswith(('udps', 'naive')) else '—'} | {fmt(median(r, 'loss'), 3)} | "
            f"{integrity}{f' ({failed} run(s) without result)' if failed else ''} |")
    return lines + [""]


def churn_table(runs, config):
    ref = runs.get((config, REFERENCE), [])
    ref_sps, ref_us = median(ref, "sps"), median(ref, "us_session")
    lines = [f"#### {config} live sessions, each replaced after 4 datagrams", "",
             "| server | accepted sessions/s | × ref | server µs/accepted session | × ref | replies/s | p99 µs | loss % | integrity errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for server in SERVERS:
        r = runs.get((config, server), [])
        if not r:
            continue
        sps, us = median(r, "sps"), median(r, "us_session")
        integrity = sum(metric(x, "integrity") or 0 for x in r)
        lines.append(f"| {server} | {fmt(sps)} | {fmt(ratio(sps, ref_sps), 2)} | {fmt(us, 1)} | {fmt(ratio(us, ref_us), 2)} | "
                     f"{fmt(median(r, 'rps'))} | {fmt(median(r, 'p99'))} | {fmt(median(r, 'loss'), 3)} | {integrity} |")
    return lines + [""]


def targets(runs):
    def m(config, server, name):
        return median(runs.get((config, server), []), name)

    rows = []
    for config in ["64x16", "1024x16"]:
        us, ref = m(config, DEFAULT, "us"), m(config, REFERENCE, "us")
        r = ratio(us, ref)
        rows.append((f"Default engine CPU/datagram ≤ 1.10× C connected at {config}", f"{fmt(r, 2)}×",
                     None if r is None else r <= 1.10))
    efficiency = [ratio(m(c, "naive-dotnet", "us"), m(c, DEFAULT, "us")) for c in STEADY]
    efficiency = [e for e in efficiency if e is not None]
    rows.append(("≥ 2× more efficient (CPU/datagram) than the naive .NET echo, every steady configuration",
                 "naive/default = " + ", ".join(f"{c} {fmt(ratio(m(c, 'naive-dotnet', 'us'), m(c, DEFAULT, 'us')), 2)}×" for c in STEADY),
                 None if not efficiency else min(efficiency) >= 2))
    allocs = [a for a in (m(c, DEFAULT, "alloc") for c in STEADY) if a is not None]
    rows.append(("0 managed bytes allocated per datagram in steady state (callback path)",
                 "max " + fmt(max(allocs), 4) + " B/datagram" if allocs else "n/a",
                 None if not allocs else max(allocs) < 0.01))
    p99, ref = m("64x1", DEFAULT, "p99"), m("64x1", REFERENCE, "p99")
    r = ratio(p99, ref)
    rows.append(("p99 at 64×1 within 10 % of the C reference", f"{fmt(p99)} µs vs {fmt(ref)} µs ({fmt(r, 2)}×)",
                 None if r is None else r <= 1.10))
    lines = ["| target | measured | |", "|---|---|---|"]
    for name, value, ok in rows:
        lines.append(f"| {name} | {value} | {'n/a' if ok is None else 'met' if ok else '**missed**'} |")
    return lines + [""]


def chart(runs, path):
    width, height, left, top, panel = 900, 640, 70, 40, 260
    configs = STEADY
    group = (width - left - 20) / len(configs)
    bar = group * 0.8 / len(SERVERS)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for p, (name, title, digits) in enumerate([("us", "server CPU µs per echoed datagram (lower is better)", 2),
                                                ("rps", "replies per second (higher is better)", 0)]):
        y0 = top + p * (panel + 50)
        values = [median(runs.get((c, s), []), name) for c in configs for s in SERVERS]
        peak = max([v for v in values if v is not None] or [1])
        out.append(f'<text x="{left}" y="{y0 - 10}" font-size="13" font-weight="bold">{title}</text>')
        out.append(f'<line x1="{left}" y1="{y0 + panel}" x2="{width - 20}" y2="{y0 + panel}" stroke="black"/>')
        for tick in range(5):
            v = peak * tick / 4
            y = y0 + panel - panel * tick / 4
            out.append(f'<text x="{left - 5}" y="{y + 4}" text-anchor="end">{v:,.{digits}f}</text>')
            out.append(f'<line x1="{left}" y1="{y}" x2="{width - 20}" y2="{y}" stroke="#ddd"/>')
        for ci, c in enumerate(configs):
            x0 = left + ci * group + group * 0.1
            for si, s in enumerate(SERVERS):
                v = median(runs.get((c, s), []), name)
                if v is None:
                    continue
                h = panel * v / peak
                out.append(f'<rect x="{x0 + si * bar:.1f}" y="{y0 + panel - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="{COLORS[si]}">'
                           f'<title>{s} {c}: {v:,.{digits}f}</title></rect>')
            out.append(f'<text x="{x0 + group * 0.4:.1f}" y="{y0 + panel + 14}" text-anchor="middle">{c}</text>')
    ly = height - 22
    for si, s in enumerate(SERVERS):
        x = left + si * 118
        out.append(f'<rect x="{x}" y="{ly}" width="10" height="10" fill="{COLORS[si]}"/><text x="{x + 14}" y="{ly + 9}">{s}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    results, out = sys.argv[1], sys.argv[2]
    runs = load(results)
    with open(os.path.join(results, "machine.txt")) as f:
        machine = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    chart_path = os.path.join(os.path.dirname(os.path.abspath(out)), "benchmarks-chart.svg") if out == "BENCHMARKS.md" \
        else os.path.splitext(out)[0] + "-chart.svg"
    if out == "BENCHMARKS.md":
        chart_path = "bench/benchmarks-chart.svg"
    chart(runs, chart_path)
    chart_link = os.path.relpath(chart_path, os.path.dirname(os.path.abspath(out)) or ".")

    lines = ["# Benchmarks", "",
             "Generated by `bench/macro.sh` (see [bench/README.md](bench/README.md)); raw per-run JSON in `" + results + "`.", "",
             "## Machine", "",
             f"- kernel {machine.get('kernel')}, {machine.get('cpus')} × {machine.get('cpu')}, {machine.get('memory')}",
             f"- .NET SDK {machine.get('dotnet')}, gcc {machine.get('gcc')}",
             f"- {machine.get('rounds')}; {machine.get('pinning')}; load average at start {machine.get('load')}",
             "- loopback, 64-byte datagrams, generator `udps load --threads 1` (closed loop), every reply verified", "",
             "Figures are medians over the rounds; (±x %) is half the min–max spread of the rounds. "
             "**Server µs/datagram** is the server process's utime+stime (/proc/PID/stat) over the measured window divided by "
             "the replies in it: on a 2-core machine the generator saturates its core, so this, not replies/s, is the figure to "
             "compare. × ref is the ratio to the C connected-socket server measured in the same run. Allocation is "
             "`GC.GetTotalAllocatedBytes(true)` of the server process over the window per reply (.NET servers only).", "",
             "## Servers", ""]
    lines += [f"- `{s}`: {LABELS[s]}" for s in SERVERS]
    lines += ["", "## Targets (from the issue)", ""] + targets(runs)
    lines += ["## Steady traffic", "", f"![server µs per datagram and replies/s by configuration]({chart_link})", ""]
    for config in STEADY:
        lines += steady_table(runs, config)
    lines += ["## Churn (accepting sessions)", "",
              "Each session sends 4 datagrams (window 1) and is replaced by a new socket with a new source address; servers "
              "close sessions idle for 1 s. µs/accepted session is all server CPU in the window divided by the sessions "
              "accepted in it, so it includes echoing their 4 datagrams and closing departed sessions.", ""]
    for config in CHURN:
        lines += churn_table(runs, config)
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benchmarks-notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            lines += [f.read().rstrip(), ""]
    # The DTLS section comes from its own benchmark (bench/dtls/run.sh); keep it when regenerating the rest.
    dtls = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dtls", "BENCHMARKS-dtls.md")
    if out == "BENCHMARKS.md" and os.path.exists(dtls):
        with open(dtls) as f:
            lines += ["<!-- dtls-benchmarks:begin -->", f.read().rstrip(), "<!-- dtls-benchmarks:end -->", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
