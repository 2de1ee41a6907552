"""Rubric files change points, drop checks, set expectations and add an instructor's checks."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.rubric import RUN_ORDER
from tests.conftest import REPO, SAMPLES


def grade(submission: Path, rubric: Path, *extra: str) -> tuple[int, dict]:
    process = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(submission), "--rubric", str(rubric), "--json", "-",
         "--no-html", *extra], capture_output=True, text=True, timeout=600,
    )
    assert "Traceback" not in process.stderr, process.stderr
    return process.returncode, json.loads(process.stdout)


def by_id(result: dict) -> dict[str, dict]:
    return {check["id"]: check for check in result["checks"]}


def test_example_rubric_changes_points_drops_and_adds_checks() -> None:
    _, result = grade(SAMPLES / "pinned_alpine", REPO / "examples" / "rubric.yml", "--static")
    checks = by_id(result)
    assert "flask-counter" not in checks
    assert checks["redis-image"]["max_points"] == 3 and checks["redis-image"]["status"] == "passed"
    assert checks["redis-healthcheck"]["status"] == "passed"   # pinned_alpine declares one
    assert result["max_score"] == 1 + 3 + 2 + 2 + 2 + 1 + 2 + 2 + 1


def test_extra_check_fails_with_its_hint() -> None:
    _, result = grade(SAMPLES / "perfect", REPO / "examples" / "rubric.yml", "--static")
    health = by_id(result)["redis-healthcheck"]
    assert health["status"] == "failed" and "redis-cli" in health["hint"]
    assert health["location"]["file"] == "docker-compose.yml"


def test_expectations_change_what_passes(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.yml"
    rubric.write_text("expect:\n  image: redis:latest\n  volume_path: /var/lib/redis\n")
    _, result = grade(SAMPLES / "wrong_image", rubric, "--static")
    assert by_id(result)["redis-image"]["status"] == "passed"
    _, result = grade(SAMPLES / "wrong_volume_path", rubric, "--static")
    assert by_id(result)["named-volume"]["status"] == "passed"
    _, result = grade(SAMPLES / "perfect", rubric, "--static")
    assert by_id(result)["redis-image"]["status"] == by_id(result)["named-volume"]["status"] == "failed"


def test_bad_rubric_is_a_usage_error(tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.yml"
    rubric.write_text("checks:\n  redis-image: {points: many}\n")
    process = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(SAMPLES / "perfect"), "--rubric",
                              str(rubric), "--static"], capture_output=True, text=True, timeout=60)
    assert process.returncode == 2
    assert "points must be a number" in process.stderr and "Traceback" not in process.stderr


@pytest.mark.docker
def test_wall_clock_limit_stops_grading_and_cleans_up(docker_engine, tmp_path: Path) -> None:
    folder = tmp_path / "hangs"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(
        "services:\n  redis:\n    image: redis:alpine\n  web:\n    build: .\n    ports: ['5000:5000']\n")
    (folder / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY app.py .\nCMD [\"python\", \"app.py\"]\n")
    (folder / "app.py").write_text(
        "import time\nfrom flask import Flask\napp = Flask(__name__)\n@app.route('/')\ndef index():\n"
        "    time.sleep(600)\napp.run(host='0.0.0.0', port=5000)\n")
    rubric = tmp_path / "rubric.yml"
    rubric.write_text("limits:\n  submission_timeout_s: 8\n  settle_s: 60\n")  # runs out while settling
    started = time.monotonic()
    _, result = grade(folder, rubric)
    assert time.monotonic() - started < 60
    checks = by_id(result)
    assert checks["redis-image"]["status"] == "passed"
    # the Redis checks run first (while the web image builds) and keep what they found; stack-up
    # (last) waits for the settle window and is stopped by the time limit. Where the limit falls
    # before it depends on the machine's speed; from there on, every check is stopped.
    assert checks["redis-ping"]["status"] == "passed"
    stopped = [check_id for check_id in RUN_ORDER if "longer than its limit of 8 s" in checks[check_id]["message"]]
    assert "stack-up" in stopped
    assert stopped == list(RUN_ORDER[RUN_ORDER.index(stopped[0]):]), {c: checks[c]["message"] for c in RUN_ORDER}
    assert {checks[check_id]["status"] for check_id in stopped} == {"skipped"}
