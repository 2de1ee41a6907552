"""A student's attempts: `grader check` remembers the last run of a folder and says what changed.

Real runs of the command (static mode) on a copy of wrong_port whose volume path is wrong too,
with the student's fix of the port between two runs.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.report.attempts import HISTORY_DIR, Attempt, compare, rubric_fingerprint
from grader.results import CheckResult, GradeResult, Status
from grader.rubric import CheckOverride, Rubric
from tests.conftest import REPO, SAMPLES

SINCE = "Since your last run"


def check(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "250", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "grader.cli", "check", str(folder), "--static", "--out", str(out),
                           *extra], capture_output=True, text=True, env=env, timeout=300)


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    folder = tmp_path / "my-lab"
    folder.mkdir()
    compose = (SAMPLES / "wrong_port" / "docker-compose.yaml").read_text()
    (folder / "docker-compose.yaml").write_text(compose.replace("redis-data:/data", "redis-data:/var/redis"))
    return folder


def report_since(out: Path, folder: Path) -> str | None:
    text = (out / f"{folder.name}.html").read_text(encoding="utf-8")
    start = text.find('id="since"')
    return None if start < 0 else text[start:text.index("</div>", start)]


def test_the_second_run_says_what_the_fix_changed(submission: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    before = tree_hash(submission)
    first = check(submission, out)
    assert first.returncode == 1 and SINCE not in first.stdout and report_since(out, submission) is None
    [remembered] = (out / HISTORY_DIR).iterdir()
    assert tree_hash(submission) == before  # nothing of it lands in the submission

    compose = submission / "docker-compose.yaml"
    compose.write_text(compose.read_text().replace("6380:6379", "6379:6379"))  # the student fixes the port
    second = check(submission, out)
    line = next(line for line in second.stdout.splitlines() if line.startswith(SINCE))
    assert line == f"{SINCE}: redis-port now passes; named-volume still fails (score 3 → 5 / 14)"
    box = report_since(out, submission)
    assert box is not None and "<li>redis-port now passes</li>" in box and "<li>named-volume still fails</li>" in box
    assert "score 3 → 5 / 14" in box
    assert list((out / HISTORY_DIR).iterdir()) == [remembered]  # one file per folder, replaced

    third = check(submission, out)
    assert f"{SINCE}: named-volume still fails (score 5 → 5 / 14)" in third.stdout  # what passes twice is not said


def test_a_changed_rubric_and_hidden_checks(submission: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    check(submission, out)
    rubric = tmp_path / "rubric.yml"
    rubric.write_text("checks:\n  redis-image: {points: 5}\n  named-volume: {visibility: hidden}\n")
    changed = check(submission, out, "--rubric", str(rubric))
    line = next(line for line in changed.stdout.splitlines() if line.startswith(SINCE))
    assert line == f"{SINCE}: redis-port still fails (the rubric changed since, so the scores are not comparable)"
    assert "named-volume" not in changed.stdout  # hidden: neither its result nor what changed
    remembered = json.loads(next((out / HISTORY_DIR).iterdir()).read_text())
    assert "named-volume" not in json.dumps(remembered) and remembered["result"]["score"] == 6


def test_each_folder_has_its_own_history_by_its_real_path(submission: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    check(submission, out)
    link = tmp_path / "link-to-lab"
    link.symlink_to(submission, target_is_directory=True)
    assert SINCE in check(link, out).stdout  # the same folder under another name
    other = tmp_path / "other" / "my-lab"
    other.mkdir(parents=True)
    (other / "docker-compose.yaml").write_bytes((submission / "docker-compose.yaml").read_bytes())
    assert SINCE not in check(other, out).stdout  # the same name elsewhere: a first run
    assert SINCE not in check(submission, tmp_path / "elsewhere").stdout  # another output folder: a first run


def test_compare_names_each_kind_of_change() -> None:
    def result(*statuses: Status, mode: str = "static") -> GradeResult:
        ids = ("a", "b", "c", "d")
        return GradeResult("s", [CheckResult(i, i.upper(), s, 1) for i, s in zip(ids, statuses)], "", 0, "t", mode=mode)

    rubric = rubric_fingerprint(Rubric())
    before = Attempt(result(Status.FAILED, Status.PASSED, Status.SKIPPED, Status.FAILED), rubric)
    changes = compare(before, result(Status.PASSED, Status.FAILED, Status.SKIPPED, Status.ERROR, mode="full"), rubric)
    assert changes.items == ["a now passes", "b now fails", "d now could not run"]
    assert changes.score_text() == "score 1 → 1 / 4 (the last run was in static mode)"
    grown = GradeResult("s", result(Status.PASSED).checks + [CheckResult("e", "E", Status.FAILED, 2)], "", 0, "t")
    assert compare(Attempt(result(Status.PASSED), rubric), grown, rubric).items == ["e is new and fails"]
    assert rubric_fingerprint(Rubric(checks={"a": CheckOverride(visibility="hidden")})) == rubric
