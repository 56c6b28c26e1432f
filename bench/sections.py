"""Sections of BENCHMARKS.md measured by their own benchmark (bench/<name>/run.sh): each is written to
bench/<name>/BENCHMARKS-<name>.md and put into BENCHMARKS.md between its markers, where bench/report.py keeps it."""
import os


def publish(bench_dir, name, text):
    """Writes bench/<name>/BENCHMARKS-<name>.md and replaces (or appends) the section in BENCHMARKS.md."""
    with open(os.path.join(bench_dir, name, f"BENCHMARKS-{name}.md"), "w") as f:
        f.write(text)
    begin, end = f"<!-- {name}-benchmarks:begin -->", f"<!-- {name}-benchmarks:end -->"
    benchmarks = os.path.join(bench_dir, "..", "BENCHMARKS.md")
    block = f"{begin}\n{text}{end}\n"
    content = open(benchmarks).read() if os.path.exists(benchmarks) else ""
    if begin in content and end in content:
        content = content[: content.index(begin)] + block + content[content.index(end) + len(end) + 1:]
    else:
        content = content.rstrip("\n") + "\n\n" + block
    with open(benchmarks, "w") as f:
        f.write(content)
