#!/usr/bin/env python3
"""Turns bench/handover/run.sh's figures (JSON lines) into bench/handover/BENCHMARKS-handover.md and puts that section
into BENCHMARKS.md between its handover markers (appended the first time); bench/report.py keeps it when it
regenerates the rest. Standard library only."""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchsection import publish  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BEGIN, END = "<!-- handover-benchmarks:begin -->", "<!-- handover-benchmarks:end -->"
COLUMNS = [
    ("lost", "lost", 0), ("late", "late", 0), ("misrouted", "misrouted", 0), ("duplicated", "duplicated", 0),
    ("handedOver", "new peers' datagrams handed over", 0), ("successorReadyMs", "successor start → listening (ms)", 0),
    ("oldExitAfterTakeoverMs", "old process lived on (ms)", 0),
    ("rttBeforeP99Ms", "RTT p99 before (ms)", 2), ("rttSwitchP99Ms", "RTT p99 in the switch (ms)", 2),
    ("rttSwitchMaxMs", "RTT max in the switch (ms)", 2),
]
SCENARIOS = {
    "drain": "graceful: the successor takes the listeners, the old process drains and exits",
    "sigkill": "the old process killed (SIGKILL) 1 s after the handover",
}


def fmt(value, digits):
    return "n/a" if value is None or value != value else f"{value:,.{digits}f}"


def section(results, runs):
    machine = open(os.path.join(results, "machine.txt")).read().strip().replace("\n", "; ")
    out = ["## Handover (graceful restart under load)", "",
           "`bench/handover/run.sh`: the runs of `HandoverTests` (tests/udps.Tests/Operations), with their figures "
           "recorded: two `udps echo --handover-socket` processes on 127.0.0.1, 1,000 steady sessions (one 48-byte "
           "datagram each every 100 ms, each waiting for its echo, 2 s reply timeout) plus 8 churning clients (4 "
           "datagrams per session). *Lost*: no echo within 2 s; *late*: an echo after that. The switch is the time from "
           "the successor's start to 1 s after it listened. The old process lives on while its sessions are active: "
           "traffic continues 2 s after the takeover and sessions idle out after 2 s, so about 4 s is the expected "
           "value, not a cost. Medians over the rounds, with every round's value in brackets.", "",
           f"Machine: {machine}", ""]
    for scenario, title in SCENARIOS.items():
        rows = runs.get(scenario, [])
        if not rows:
            continue
        out += [f"### {title} ({len(rows)} rounds)", "", "| figure | median | rounds |", "|---|---|---|"]
        for key, label, digits in COLUMNS:
            values = [r[key] for r in rows if key in r and r[key] == r[key]]
            if values:
                out.append(f"| {label} | {fmt(statistics.median(values), digits)} | {' / '.join(fmt(v, digits) for v in values)} |")
        out.append("")
    return "\n".join(out) + "\n"


def load(results):
    runs = {}
    with open(os.path.join(results, "figures.jsonl")) as f:
        for line in f:
            if line.strip():
                run = json.loads(line)
                runs.setdefault(run["scenario"], []).append(run)
    return runs


def main():
    results = sys.argv[1]
    text = section(results, load(results))
    publish(HERE, "BENCHMARKS-handover.md", text, BEGIN, END)


if __name__ == "__main__":
    main()
