"""`grader batch sample_submissions/` — every folder and the zip — grades each submission to
its expected statuses, and the gradebook and dashboard list every student."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.test_samples_e2e import EXPECTED, tree_fingerprint


def submission_id(name: str) -> str:
    return name[:-4] if name.endswith(".zip") else name


@pytest.mark.docker
def test_batch_over_the_samples(docker_engine, tmp_path: Path) -> None:
    before = tree_fingerprint(SAMPLES)
    out = tmp_path / "reports"
    process = subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(SAMPLES), "-j", "3", "--out", str(out),
                              "--junit", str(tmp_path / "junit.xml")],
                             capture_output=True, text=True, timeout=1800)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    assert "Traceback" not in process.stderr
    assert tree_fingerprint(SAMPLES) == before, "the batch wrote into sample_submissions/"
    entries = {entry["submission"]: entry for entry in json.loads((out / "results.json").read_text())}
    for name, expected in EXPECTED.items():
        entry = entries[submission_id(name)]
        got = {check["id"]: check["status"] for check in entry["checks"]}
        assert got == expected["checks"], (name, got)
    with (out / "grades.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {submission_id(name) for name in EXPECTED}
    assert float(rows["perfect"]["score"]) == 17 and float(rows["perfect"]["max_score"]) == 14
    dashboard = (out / "index.html").read_text()
    for name in EXPECTED:
        assert submission_id(name) in dashboard
        report = entries[submission_id(name)]["batch"]["report"]
        assert (out / report).is_file()
    assert (tmp_path / "junit.xml").read_text().count("<testsuite ") == len(EXPECTED)
