#!/usr/bin/env python3
"""Turns the per-run output of bench/bulk/run.sh into bench/bulk/BENCHMARKS-bulk.md (standard library only) and puts
that section into BENCHMARKS.md between its bulk markers (appended the first time). bench/report.py, which regenerates
the rest of BENCHMARKS.md, appends bench/bulk/BENCHMARKS-bulk.md again, so neither run erases the other's tables."""
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchsection import publish  # noqa: E402

BEGIN, END = "<!-- bulk-benchmarks:begin -->", "<!-- bulk-benchmarks:end -->"

HERE = os.path.dirname(os.path.abspath(__file__))
DIRECTIONS = {
    "s2c": ("server → client", "sent", [("udps-gso", "UdpSessions, `SendBatch` with UDP GSO"), ("udps-plain", "UdpSessions, GSO off (one send per datagram)"),
                                         ("c-gso", "C, `UDP_SEGMENT`"), ("c-plain", "C, one `send()` per datagram")]),
    "c2s": ("client → server", "delivered", [("udps-gro", "UdpSessions, UDP GRO"), ("udps-plain", "UdpSessions, GRO off (recvmmsg)"),
                                              ("c-gro", "C, `UDP_GRO` + recvmmsg"), ("c-plain", "C, recvmmsg")]),
}
LINE = re.compile(r"datagrams=(\d+) seconds=([\d.]+) cpu_seconds=([\d.]+)")


def load(results):
    runs = {}
    for name in sorted(os.listdir(results)):
        if not name.endswith(".server"):
            continue
        server = name[:-len(".server")].split("-", 1)[1]
        with open(os.path.join(results, name)) as f:
            match = LINE.search(f.read())
        if match and int(match.group(1)) > 0 and float(match.group(3)) > 0:
            datagrams, seconds, cpu = int(match.group(1)), float(match.group(2)), float(match.group(3))
            runs.setdefault(server, []).append((datagrams / seconds, cpu * 1e6 / datagrams, datagrams / cpu))
    return runs


def median(values):
    return statistics.median(values) if values else None


def fmt(value, digits=2):
    return "–" if value is None else f"{value:,.{digits}f}"


def section(results, runs):
    machine = open(os.path.join(results, "machine.txt")).read().strip().splitlines() if os.path.exists(os.path.join(results, "machine.txt")) else []
    lines = ["## Bulk datagrams: UDP GSO and GRO", "",
             "One peer streaming 1,200-byte datagrams on loopback (`bench/bulk/run.sh`): server → client, an application "
             "thread calling `Session.SendBatch` with 54 datagrams a call (one `UDP_SEGMENT` send; GSO off: one `send()` "
             "each), to a C sink reading with `UDP_GRO`; client → server, a C sender using `UDP_SEGMENT` as fast as it can, "
             "to the engine's reads (GRO on: split back into datagrams before the handler; off: `recvmmsg`). The C "
             "reference (`bench/reference/bulk.c`) does the same with and without `UDP_SEGMENT`/`UDP_GRO`. Server pinned "
             "to one core, load to the other; each server measures itself after a warm-up (its process CPU time and the "
             "datagrams it sent or delivered). Medians over the rounds, interleaved. On loopback a segmented buffer "
             "reaches the receiving socket whole (no NIC cuts it), so these are upper bounds of what offload saves.", "",
             "Machine: " + "; ".join(machine), ""]
    for direction, (title, verb, servers) in DIRECTIONS.items():
        lines += [f"### {title}", "", f"| server | datagrams {verb}/s | server CPU µs/datagram | datagrams per CPU-second | runs |",
                  "|---|---:|---:|---:|---:|"]
        medians = {}
        for key, label in servers:
            figures = runs.get(f"{direction}-{key}", [])
            rate, cpu, per_cpu = (median([f[i] for f in figures]) for i in range(3))
            medians[key] = per_cpu
            lines.append(f"| {label} | {fmt(rate, 0)} | {fmt(cpu, 3)} | {fmt(per_cpu, 0)} | {len(figures)} |")
        offload, plain, c_offload, c_plain = (medians[key] for key, _ in servers)

        def ratio(a, b):
            return "–" if a is None or b is None else f"{a / b:.2f}×"

        lines += ["", f"- UdpSessions with offload vs without: **{ratio(offload, plain)}** the datagrams per CPU-second (target ≥ 2×).",
                  f"- C with offload vs UdpSessions with offload: **{ratio(c_offload, offload)}** (target ≤ 1.1×); "
                  f"C with offload vs C without: {ratio(c_offload, c_plain)}.", ""]
    return "\n".join(lines) + "\n"


def main():
    results = sys.argv[1]
    text = section(results, load(results))
    publish(HERE, "BENCHMARKS-bulk.md", text, BEGIN, END)


if __name__ == "__main__":
    main()
