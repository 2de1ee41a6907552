"""Benchmark: `grader batch -j auto` of this checkout against the same command of another revision.

Both grade every submission in `sample_submissions/` (every folder and .zip there), each from a fresh
copy into a fresh report folder, alternating which goes first, after one untimed warm-up of each
so the build cache is warm for both. The other revision is exported with `git archive` into a
temporary folder and run with `PYTHONPATH` pointing there; nothing is checked out in this repository.
Prints the median wall time of each, their ratio, and whether every submission's check statuses
agree between the two (they must: speed may not change a verdict).

    python bench/bench_batch_speedup.py --against b2f8bc4 [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from revision import export_revision

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_submissions"


def batch_once(code: Path, jobs: list[str]) -> tuple[float, dict[str, dict[str, str]]]:
    """One `grader batch` of a fresh copy of the samples by the code in ``code``; (seconds, statuses)."""
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        submissions = Path(tmp, "submissions")
        shutil.copytree(SAMPLES, submissions, symlinks=True)
        (submissions / "expected.yml").unlink()
        (submissions / "README.md").unlink()
        out = Path(tmp, "reports")
        environment = {**os.environ, "PYTHONPATH": str(code)}
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(submissions), *jobs, "--out", str(out)],
                       cwd=tmp, env=environment, capture_output=True, timeout=3600)
        elapsed = time.monotonic() - started
        return elapsed, _statuses(out / "results.json")


def _statuses(results: Path) -> dict[str, dict[str, str]]:
    """Each submission's check statuses, from results.json (a list of entries; a missing student has no checks)."""
    entries = json.loads(results.read_text(encoding="utf-8"))
    return {entry["submission"]: {check["id"]: check["status"] for check in entry.get("checks") or []}
            for entry in entries if entry.get("submission")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="git revision to compare with (e.g. the last release)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--old-jobs", default="", help="-j for the other revision (default: its own default)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-revision-") as tmp:
        old_code = export_revision(args.against, Path(tmp))
        old_jobs = ["-j", args.old_jobs] if args.old_jobs else []
        runs = {"this checkout": lambda: batch_once(REPO, ["-j", "auto"]),
                args.against: lambda: batch_once(old_code, old_jobs)}
        for run in runs.values():
            run()  # warm-up: builds cached for both
        times: dict[str, list[float]] = {name: [] for name in runs}
        statuses: dict[str, dict] = {}
        for index in range(args.rounds):
            order = list(runs) if index % 2 == 0 else list(runs)[::-1]
            for name in order:
                elapsed, statuses[name] = runs[name]()
                times[name].append(elapsed)
    new, old = (statistics.median(times[name]) for name in runs)
    print(f"grader batch of {len(statuses['this checkout'])} submissions, medians of {args.rounds} runs each:")
    print(f"  {args.against:<14} {old:7.1f} s   {times[args.against]}")
    print(f"  {'this checkout':<14} {new:7.1f} s   {times['this checkout']}   -j auto")
    print(f"  speed-up {old / new:.2f}x")
    differing = sorted(name for name in statuses["this checkout"]
                       if statuses["this checkout"][name] != statuses[args.against].get(name))
    print("  verdicts: " + ("identical" if not differing else "DIFFER for " + ", ".join(differing)))


if __name__ == "__main__":
    main()
