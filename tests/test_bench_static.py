"""bench/bench_floor.py --static runs and prints every figure it promises (its numbers are not
judged here: speed goals are benchmarks, not timed tests)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO

LABELS = ("grader check --static: --json - --no-html", "grader check --static: HTML report, output to a pipe",
          "grader check --static: HTML report, on a terminal", "python -c pass", "python -c 'import click",
          "docker compose --profile '*' config --format json")


def git_works() -> bool:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, check=False)
    return done.returncode == 0


def bench(*args: str) -> str:
    done = subprocess.run([sys.executable, str(REPO / "bench" / "bench_floor.py"), "--static", "--rounds", "1", *args],
                          capture_output=True, text=True, timeout=300, cwd=REPO, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def timed_labels(output: str) -> list[str]:
    return [match.group(1) for match in re.finditer(r"median \d+\.\d{3} s  \(min \d+\.\d{3} s\)  (.+)", output)]


def test_the_static_bench_times_the_grader_beside_what_it_cannot_avoid() -> None:
    labels = timed_labels(bench())
    assert len(labels) == len(LABELS)
    assert all(any(label.startswith(expected) for label in labels) for expected in LABELS), labels


@pytest.mark.skipif(not git_works(), reason="needs this checkout's git history")
def test_the_static_bench_times_another_revision_beside_this_checkout() -> None:
    labels = timed_labels(bench("--against", "HEAD"))
    assert sum(label.startswith("HEAD --static: ") for label in labels) == 3, labels
    assert len(labels) == len(LABELS) + 3
