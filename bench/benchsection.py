"""Puts a benchmark's own section into BENCHMARKS.md between its markers (appended the first time), so that the
benchmarks with sections of their own (bench/dtls, bench/handover) and bench/report.py never erase each other's."""
import os


def splice(benchmarks, text, begin, end):
    block = f"{begin}\n{text}{end}\n"
    content = open(benchmarks).read() if os.path.exists(benchmarks) else ""
    if begin in content and end in content:
        content = content[: content.index(begin)] + block + content[content.index(end) + len(end) + 1:]
    else:
        content = content.rstrip("\n") + "\n\n" + block
    with open(benchmarks, "w") as f:
        f.write(content)


def publish(here, name, text, begin, end):
    """Writes the section (and HERE/notes.md, the benchmark's analysis, when there is one) to HERE/NAME and splices it
    into the repository's BENCHMARKS.md."""
    notes = os.path.join(here, "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            text = text.rstrip("\n") + "\n\n" + f.read().rstrip() + "\n"
    with open(os.path.join(here, name), "w") as f:
        f.write(text)
    splice(os.path.join(here, "..", "..", "BENCHMARKS.md"), text, begin, end)
