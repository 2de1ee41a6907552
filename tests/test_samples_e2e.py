"""Every sample submission graded end to end, through the CLI, against a real Docker engine."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import SAMPLES

EXPECTED = YAML(typ="safe").load((SAMPLES / "expected.yml").read_text())


def tree_fingerprint(root: Path) -> str:
    """Content, mode and mtime of every entry: any write to the submission changes it."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        digest.update(f"{path.relative_to(root)}|{info.st_mode}|{info.st_mtime_ns}".encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def run_check(submission: Path, out: Path, *extra: str) -> tuple[int, dict]:
    json_path = out / f"{submission.name}.json"
    process = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(submission), "--json", str(json_path),
         "--out", str(out), *extra],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )
    assert "Traceback" not in process.stderr + process.stdout, process.stderr
    return process.returncode, json.loads(json_path.read_text())


FOLDERS = sorted(name for name in EXPECTED if (SAMPLES / name).is_dir())


@pytest.mark.docker
@pytest.mark.parametrize("name", FOLDERS)
def test_sample_grades_to_its_expected_statuses(name: str, docker_engine, tmp_path: Path) -> None:
    submission = SAMPLES / name
    before = tree_fingerprint(submission)
    code, result = run_check(submission, tmp_path)
    statuses = {check["id"]: check["status"] for check in result["checks"]}
    assert statuses == EXPECTED[name]["checks"], json.dumps(result["checks"], indent=1)
    assert tree_fingerprint(submission) == before, "the grader wrote into the submission folder"
    assert result["mode"] == "full"
    required_passed = all(check["status"] == "passed" for check in result["checks"] if not check["bonus"])
    assert code == (0 if required_passed else 1)
    assert result["max_score"] == sum(c["max_points"] for c in result["checks"] if not c["bonus"])
    assert result["score"] == sum(c["points"] for c in result["checks"])
    assert (tmp_path / f"{name}.html").is_file()
    for check in result["checks"]:
        if check["status"] == "failed":
            assert check["message"] and check["hint"], f"{check['id']} fails without telling how to fix it"
        if check["status"] == "failed" and check["id"] in ("compose-file", "redis-image", "redis-port", "named-volume"):
            assert check["location"] and check["location"]["line"] >= 1, f"{check['id']} has no file:line"


@pytest.mark.docker
def test_student_name_value_is_reported(docker_engine, tmp_path: Path) -> None:
    _, result = run_check(SAMPLES / "perfect", tmp_path)
    student = next(check for check in result["checks"] if check["id"] == "student-name")
    assert "Maria Garcia" in student["message"]
    assert result["services"] == {"redis": "redis", "web": "web"}


def test_static_mode_needs_no_engine(tmp_path: Path) -> None:
    env = {**os.environ, "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock"}
    process = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(SAMPLES / "wrong_port"), "--json", "-", "--no-html"],
        capture_output=True, text=True, timeout=120, env=env,
    )
    result = json.loads(process.stdout)
    statuses = {check["id"]: check["status"] for check in result["checks"]}
    assert statuses["redis-port"] == "failed" and statuses["redis-image"] == "passed"
    assert all(statuses[c] == "skipped" for c in ("stack-up", "redis-ping", "student-name", "persistence"))
    assert result["mode"] == "static"
    assert "No Docker engine" in result["notice"]
    assert process.stderr.count("No Docker engine") == 1, "the notice must be said once"
    assert process.returncode == 1
