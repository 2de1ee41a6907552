"""The grader in a container: its image builds here (offline, from the stand-in Python base
when no registry is reachable) and grades sample_submissions/ through docker-compose.grader.yml
with the same statuses as a host run."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES
from tests.test_batch_samples import submission_id
from tests.test_samples_e2e import EXPECTED

pytestmark = pytest.mark.docker
PROJECT = "grader-selftest"
IMAGE = f"compose-grader:selftest-{os.getpid()}"  # its own tag: removed after, whatever existed


def compose(*args: str, env: dict[str, str], timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "compose", "-p", PROJECT, "-f", str(REPO / "docker-compose.grader.yml"), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env})


def test_grader_image_grades_the_samples_like_the_host(docker_engine, tmp_path: Path) -> None:
    reports, scratch = tmp_path / "reports", tmp_path / "scratch"  # not /tmp/compose-grader: nothing left behind
    reports.mkdir()
    scratch.mkdir()
    env = {"SUBMISSIONS": str(SAMPLES), "REPORTS": str(reports), "GRADER_IMAGE": IMAGE, "GRADER_SCRATCH": str(scratch)}
    try:
        built = compose("build", env=env)
        assert built.returncode == 0, built.stderr[-3000:]
        graded = compose("run", "--rm", "grader", "batch", "/submissions", "-j", "3", env=env)
        assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    finally:
        compose("down", "--remove-orphans", env=env, timeout=120)
        subprocess.run(["docker", "image", "rm", "-f", IMAGE], capture_output=True)
    entries = {entry["submission"]: entry for entry in json.loads((reports / "results.json").read_text())}
    for name, expected in EXPECTED.items():
        got = {check["id"]: check["status"] for check in entries[submission_id(name)]["checks"]}
        assert got == expected["checks"], (name, got)
    assert (reports / "index.html").is_file() and (reports / "grades.csv").is_file()
    assert sorted(path.name for path in scratch.iterdir()) == [], "the grader in its container left its copies"
