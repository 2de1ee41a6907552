"""Benchmark: `grader check` on a sample against the bare floor of the same files.

The floor is what any grader must at least do: `docker compose up -d --wait` and
`docker compose down -v` of the student's files (in a temp copy, under its own project).
Both run in the same process, alternating, after one warm-up of each, so the build cache
and the machine's state are the same for both. Prints the ratio of medians.

    python bench/bench_check.py [--sample perfect] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def floor_once(sample: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        copy = Path(tmp) / sample.name
        shutil.copytree(sample, copy, symlinks=True)
        project = ["docker", "compose", "-p", f"benchfloor{int(time.time() * 1000)}"]
        started = time.monotonic()
        try:
            subprocess.run([*project, "up", "-d", "--wait", "--build"], cwd=copy, check=True,
                           capture_output=True, timeout=600)
        finally:
            subprocess.run([*project, "down", "-v", "--rmi", "local"], cwd=copy, capture_output=True, timeout=600)
        return time.monotonic() - started


def grader_once(sample: Path) -> tuple[float, dict]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "grader.cli.main", "check", str(sample), "--json", "-", "--no-html"],
                            capture_output=True, text=True, timeout=900)
    elapsed = time.monotonic() - started
    return elapsed, json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="perfect")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sample = REPO / "sample_submissions" / args.sample
    floor_once(sample), grader_once(sample)  # warm the build cache for both
    floors, graders = [], []
    for _ in range(args.rounds):
        floors.append(floor_once(sample))
        elapsed, result = grader_once(sample)
        graders.append(elapsed)
        passed = sum(check["status"] == "passed" for check in result["checks"])
    floor, grader = statistics.median(floors), statistics.median(graders)
    print(f"sample: {args.sample}, rounds: {args.rounds}, checks passed in last run: {passed}/{len(result['checks'])}")
    print(f"floor  (up -d --wait + down -v): median {floor:.2f} s  {[round(t, 2) for t in floors]}")
    print(f"grader check (all checks):       median {grader:.2f} s  {[round(t, 2) for t in graders]}")
    print(f"ratio grader/floor: {grader / floor:.2f}x  (goal: at most 1.3x)")


if __name__ == "__main__":
    main()
