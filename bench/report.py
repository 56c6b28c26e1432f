#!/usr/bin/env python3
"""Turns the per-run JSON of bench/macro.sh into BENCHMARKS.md and its charts (standard library only).

The charts are drawn by `udps plot` (ScottPlot), the same code as `udps load --plot`: a bar chart of the medians from a
description written here, and the latency percentile distributions of one configuration from the runs' own JSON.
usage: report.py RESULTS_DIR OUT.md [UDPS_EXECUTABLE]
"""
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict

SERVERS = ["udps-default", "udps-ownsocket", "udps-addrmap", "udps-2threads", "udps-portable", "naive-dotnet", "c-mmsg", "c-connected"]
LABELS = {
    "udps-default": "UdpSessions, default settings (epoll, adaptive placement: sessions on the per-thread listeners, promoted to a socket of their own when busy)",
    "udps-ownsocket": "UdpSessions epoll, `--placement ownsocket` (a connected socket per session from its first datagram: the article's design)",
    "udps-addrmap": "UdpSessions epoll, `--placement addressmap` (every session on the listeners)",
    "udps-2threads": "UdpSessions default settings with `--threads 2` on the same single core (1024x1 and churn-1000 only: shows that both threads' listeners take new peers)",
    "udps-portable": "UdpSessions portable engine",
    "naive-dotnet": "naive .NET (ReceiveFromAsync/SendToAsync)",
    "c-mmsg": "C recvmmsg/sendmmsg, one socket",
    "c-connected": "C connected socket per peer (reference)",
}
STEADY = ["1x16", "64x16", "64x1", "1024x1", "1024x16", "10000x1"]
CHURN = ["churn-1000", "churn-10000"]
REFERENCE = "c-connected"
C_SERVERS = ["c-mmsg", "c-connected"]
DEFAULT = "udps-default"
# The configuration whose latency distributions are drawn: the one of the p99 target.
LATENCY_CONFIG = "64x1"


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


def best_c(runs, config, name, pick):
    """The best C server's median of one figure in one configuration (pick: min for costs, max for rates)."""
    values = [v for v in (median(runs.get((config, c), []), name) for c in C_SERVERS) if v is not None]
    return pick(values) if values else None


def steady_table(runs, config):
    ref_us, ref_rps, ref_p99 = best_c(runs, config, "us", min), best_c(runs, config, "rps", max), best_c(runs, config, "p99", min)
    lines = [f"#### {config} (sessions x window)", "",
             "| server | replies/s | × best C | server µs/datagram (spread) | × best C | p50 µs | p99 µs (spread) | × best C | alloc B/datagram | loss % | integrity errors |",
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
    ref = runs.get((config, "c-mmsg"), [])
    ref_sps, ref_us = median(ref, "sps"), median(ref, "us_session")
    lines = [f"#### {config} live sessions, each replaced after 4 datagrams", "",
             "| server | accepted sessions/s | × c-mmsg | server µs/accepted session | × c-mmsg | replies/s | p99 µs | loss % | integrity errors |",
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


def listener_shares(results, config):
    """Datagrams each I/O thread's listener read in the two-thread server's runs of one configuration (its closing report)."""
    shares = []
    for name in sorted(os.listdir(results)):
        if re.match(r"r\d+-" + re.escape(config) + r"-udps-2threads\.server\.log$", name):
            with open(os.path.join(results, name)) as f:
                m = re.search(r"listener datagrams by thread: ([\d ]+)", f.read())
                if m:
                    shares.append([int(x) for x in m.group(1).split()])
    return shares


def targets(runs, results):
    def m(config, server, name):
        return median(runs.get((config, server), []), name)

    rows = []
    for config in STEADY:
        us, best = m(config, DEFAULT, "us"), best_c(runs, config, "us", min)
        r = ratio(us, best)
        rows.append((f"Default engine CPU/datagram ≤ 1.0× the best C server at {config}", f"{fmt(us, 2)} µs vs {fmt(best, 2)} µs ({fmt(r, 2)}×)",
                     None if r is None else r <= 1.0))
    for config in CHURN:
        sps, c_sps, own = m(config, DEFAULT, "sps"), m(config, "c-mmsg", "sps"), m(config, "udps-ownsocket", "sps")
        r = ratio(sps, c_sps)
        rows.append((f"Churn {config}: accepted sessions/s ≥ 1.0× the C recvmmsg server", f"{fmt(sps)} vs {fmt(c_sps)} ({fmt(r, 2)}×)",
                     None if r is None else r >= 1.0))
        r = ratio(sps, own)
        rows.append((f"Churn {config}: ≥ 5× a socket per session (the previous default's design, `udps-ownsocket`)", f"{fmt(sps)} vs {fmt(own)} ({fmt(r, 2)}×)",
                     None if r is None else r >= 5.0))
    allocs = [a for a in (m(c, DEFAULT, "alloc") for c in STEADY) if a is not None]
    rows.append(("0 managed bytes allocated per datagram in steady state (callback path)",
                 "max " + fmt(max(allocs), 4) + " B/datagram" if allocs else "n/a",
                 None if not allocs else max(allocs) < 0.01))
    faults = [(c, s, median(runs.get((c, s), []), "loss") or 0, sum(metric(x, "integrity") or 0 for x in runs.get((c, s), [])))
              for c in STEADY + CHURN for s in [DEFAULT]]
    bad = [f"{s} {c}: loss {loss:.3f} %, {integrity} integrity errors" for c, s, loss, integrity in faults if loss > 0 or integrity > 0]
    rows.append(("0 loss and 0 integrity errors, default engine, every configuration (10000x1 starts 10,000 peers at once)",
                 "none" if not bad else "; ".join(bad), not bad))
    two = ["1024x1", "churn-1000"]
    both = [f"{c}: {' / '.join(f'{x:,}' for x in shares[0])}" for c in two if (shares := listener_shares(results, c)) and shares[0]]
    rows.append(("With 2 I/O threads, new peers and listener sessions read by both threads (datagrams per thread's listener, `udps-2threads`, round 1)",
                 "; ".join(both) or "n/a",
                 None if not both else all(len(s[0]) == 2 and min(s[0]) > 0 for c in two if (s := listener_shares(results, c)))))
    efficiency = [ratio(m(c, "naive-dotnet", "us"), m(c, DEFAULT, "us")) for c in STEADY]
    efficiency = [e for e in efficiency if e is not None]
    rows.append(("(issue 3) ≥ 2× more efficient (CPU/datagram) than the naive .NET echo, every steady configuration",
                 "naive/default = " + ", ".join(f"{c} {fmt(ratio(m(c, 'naive-dotnet', 'us'), m(c, DEFAULT, 'us')), 2)}×" for c in STEADY),
                 None if not efficiency else min(efficiency) >= 2))
    p99, ref = m("64x1", DEFAULT, "p99"), m("64x1", REFERENCE, "p99")
    r = ratio(p99, ref)
    rows.append(("(issue 3) p99 at 64×1 within 10 % of the C connected server", f"{fmt(p99)} µs vs {fmt(ref)} µs ({fmt(r, 2)}×)",
                 None if r is None else r <= 1.10))
    lines = ["| target | measured | |", "|---|---|---|"]
    for name, value, ok in rows:
        lines.append(f"| {name} | {value} | {'n/a' if ok is None else 'met' if ok else '**missed**'} |")
    return lines + [""]


def plot(udps, arguments):
    """Runs `udps plot ...`; False (after saying why) when it fails, so the report is still written."""
    result = subprocess.run([udps, "plot", *arguments], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        print(f"report.py: udps plot {arguments[0]} failed: {result.stderr.strip()}", file=sys.stderr)
    return result.returncode == 0


def bar_chart(runs, udps, path):
    """Server CPU per datagram and replies/s, median per configuration and server."""
    panels = [("us", "server CPU µs per echoed datagram (lower is better)"), ("rps", "replies per second (higher is better)")]
    spec = {"categories": STEADY, "series": SERVERS,
            "panels": [{"title": title, "values": [[median(runs.get((c, s), []), name) for c in STEADY] for s in SERVERS]}
                       for name, title in panels]}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        return plot(udps, ["bars", f.name, "--out", path])
    finally:
        os.unlink(f.name)


def latency_chart(results, udps, path):
    """The latency percentile distribution of every server at LATENCY_CONFIG, from round 1's JSON."""
    files, labels = [], []
    for server in SERVERS:
        run = os.path.join(results, f"r1-{LATENCY_CONFIG}-{server}.json")
        if os.path.exists(run) and os.path.getsize(run) > 0:
            files.append(run)
            labels += ["--label", server]
    return bool(files) and plot(udps, ["run", *files, "--out", path, *labels])


def main():
    results, out = sys.argv[1], sys.argv[2]
    udps = sys.argv[3] if len(sys.argv) > 3 else "src/udps/bin/Release/net10.0/udps"
    runs = load(results)
    with open(os.path.join(results, "machine.txt")) as f:
        machine = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
    prefix = "bench/benchmarks" if out == "BENCHMARKS.md" else os.path.splitext(out)[0]
    chart_path, latency_path = prefix + "-chart.svg", prefix + "-latency.svg"
    out_dir = os.path.dirname(os.path.abspath(out))
    charts = bar_chart(runs, udps, chart_path)
    latency = latency_chart(results, udps, latency_path)

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
             "compare. × best C is the ratio to the better of the two C servers measured in the same run (the cheaper per datagram, "
             "the faster in replies/s, the lower p99). Allocation is "
             "`GC.GetTotalAllocatedBytes(true)` of the server process over the window per reply (.NET servers only).", "",
             "## Servers", ""]
    lines += [f"- `{s}`: {LABELS[s]}" for s in SERVERS]
    lines += ["", "## Targets (issue 10, and issue 3's for comparison)", ""] + targets(runs, results)
    lines += ["## Steady traffic", ""]
    if charts:
        lines += [f"![server µs per datagram and replies/s by configuration]({os.path.relpath(chart_path, out_dir)})", ""]
    if latency:
        lines += [f"Latency by percentile at {LATENCY_CONFIG}, round 1 (`udps plot run` of the runs' JSON):", "",
                  f"![latency percentile distribution at {LATENCY_CONFIG}]({os.path.relpath(latency_path, out_dir)})", ""]
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
    # Sections measured by their own benchmarks (bench/<name>/run.*, e.g. DTLS, broadcast, forwarders, bulk) are kept
    # in bench/<name>/BENCHMARKS-<name>.md and appended here, so that regenerating this part keeps them.
    if out == "BENCHMARKS.md":
        for section in sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "*", "BENCHMARKS-*.md"))):
            name = os.path.basename(section)[len("BENCHMARKS-"):-len(".md")]
            if os.path.basename(os.path.dirname(section)) != name:
                continue  # e.g. bench/results/BENCHMARKS-quick.md, a report of its own
            with open(section) as f:
                lines += [f"<!-- {name}-benchmarks:begin -->", f.read().rstrip(), f"<!-- {name}-benchmarks:end -->", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
