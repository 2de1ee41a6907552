"""Checks the rubric keeps from students: graded and shown to instructors, left out of what students read.

The gradings are real (static mode on wrong_port, where redis-port fails with "6380" as what
was found); the rubric hides redis-port and shows named-volume only after the due date. Every
student view is read as the student reads it: the HTML report and the dashboard in headless
Chromium, the Classroom payload through the reporter model of tests/test_classroom_reporter.py,
Gradescope's results.json as Gradescope reads its fields.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import grader
from grader.batch import grade_batch
from grader.report.formats.classroom import recorded_points, to_classroom
from grader.report.formats.github import annotations
from grader.report.formats.gradescope import to_gradescope
from grader.report.formats.lms import feedback_lines
from grader.report.formats.markdown import to_markdown
from grader.report.html import render_html
from grader.report.visibility import student_view
from grader.results import GradeResult, Status
from grader.rubric import CheckOverride, Rubric, RubricError, load_rubric
from tests.conftest import REPO, SAMPLES
from tests.test_classroom_reporter import js_number, payload_of, run_reporter

HIDDEN, AFTER_DUE = "redis-port", "named-volume"
LEAKS = ("redis-port", "6380", "Redis port 6379 is published")  # the hidden check's id, what it found, its title


def rubric(due: str | None = None) -> Rubric:
    return Rubric(checks={HIDDEN: CheckOverride(visibility="hidden"), AFTER_DUE: CheckOverride(visibility="after_due_date")},
                  due=due)


@pytest.fixture(scope="module")
def graded() -> GradeResult:
    return grader.grade(SAMPLES / "wrong_port", mode="static", rubric=rubric())


def page_text(browser, path: Path) -> str:
    """What the page says, less the student's own Compose file as the annotated listing shows it
    (its `6380` is what the student wrote, not the hidden check's finding); the notes the grader
    added under its lines stay, so a hidden check's annotation would still be seen."""
    page = browser.new_page()
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.eval_on_selector_all("code.src", "lines => lines.forEach(line => line.remove())")
        return page.inner_text("body")
    finally:
        page.close()


# The rubric --------------------------------------------------------------------------------------

def test_the_rubric_reads_visibility_and_due(tmp_path: Path) -> None:
    path = tmp_path / "rubric.yml"
    path.write_text("due: 2025-03-10\nchecks:\n  redis-port: {visibility: hidden, points: 3}\n"
                    "  persistence: {visibility: after_due_date}\n")
    loaded = load_rubric(path)
    assert (loaded.visibility("redis-port"), loaded.visibility("persistence"), loaded.visibility("stack-up")) == \
        ("hidden", "after_due_date", "visible")
    due = datetime.fromisoformat(loaded.due)
    assert due.tzinfo is not None and (due.hour, due.minute, due.second) == (23, 59, 59)  # the end of that day
    path.write_text("due: 2025-03-10T09:30:00+01:00\n")
    assert load_rubric(path).due == "2025-03-10T09:30:00+01:00"
    for text, fragment in (("checks:\n  redis-port: {visibility: secret}\n", "visibility must be one of"),
                           ("due: next friday\n", "'due' must be a date")):
        path.write_text(text)
        with pytest.raises(RubricError, match=fragment):
            load_rubric(path)


def test_every_check_is_graded_and_carries_its_visibility(graded: GradeResult) -> None:
    port, volume = graded.check(HIDDEN), graded.check(AFTER_DUE)
    assert port.status is Status.FAILED and "6380" in port.found and port.visibility == "hidden"
    assert volume.status is Status.PASSED and volume.visibility == "after_due_date"
    assert graded.score == 5 and graded.max_score == 14  # hidden or not, it all counts
    saved = GradeResult.from_dict(json.loads(json.dumps(graded.to_dict())))
    assert saved.to_dict() == graded.to_dict() and saved.check(HIDDEN).visibility == "hidden"
    assert GradeResult.from_dict({**graded.to_dict(), "checks": [{**c.to_dict(), "visibility": "oops"} for c in graded.checks]}) \
        .checks[0].visibility == "hidden"  # an unknown value fails closed


# What students see -------------------------------------------------------------------------------

@pytest.mark.browser
def test_the_students_report_leaves_hidden_checks_out_but_keeps_the_score(graded: GradeResult, browser,
                                                                         tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    path.write_text(render_html(graded), encoding="utf-8")
    text = page_text(browser, path)
    assert not [leak for leak in LEAKS if leak in text]
    assert "named-volume" not in text  # no due date: after_due_date stays hidden
    assert "5 / 14" in text and "2 other checks, not shown: 2 / 4 points (not every one passed)" in text
    path.write_text(render_html(graded, show_after_due=True), encoding="utf-8")
    shown = page_text(browser, path)
    assert "named-volume" in shown and "1 other check, not shown: 0 / 2 points" in shown
    assert not [leak for leak in LEAKS if leak in shown]


def test_after_due_date_follows_the_rubrics_due_date() -> None:
    now = datetime(2025, 3, 10, 12, tzinfo=timezone.utc)
    for due, shown in ((now - timedelta(minutes=1), True), (now + timedelta(minutes=1), False)):
        result = grader.grade(SAMPLES / "wrong_port", mode="static", rubric=rubric(due.isoformat()))
        view = student_view(result, now=now)
        assert (view.result.check(AFTER_DUE) is not None) is shown and view.result.check(HIDDEN) is None
        assert view.result.score == result.score


def test_the_classroom_log_folds_hidden_checks_into_other_checks(graded: GradeResult) -> None:
    payload = payload_of(graded)
    assert not [leak for leak in LEAKS if leak in json.dumps(payload, ensure_ascii=False)]
    other = payload["tests"][-1]
    assert other["name"] == "Other checks (2/4)" and other["score"] == 2 and other["status"] == "fail"
    assert recorded_points(payload) == graded.score and payload["max_score"] == graded.max_score
    run = run_reporter([payload])
    assert "❌ Other checks (2/4)" in run.lines
    assert not [line for line in run.lines if any(leak in line for leak in LEAKS)]
    assert run.notices[0] == f"Autograding complete::Points {js_number(graded.score)}/{js_number(graded.max_score)}"
    assert len(payload["tests"]) == len(graded.checks) - 1  # two checks left, one test added
    assert [test["name"] for test in to_classroom(graded, show_after_due=True)["tests"]][-1] == "Other checks (0/2)"


def test_gradescope_gets_each_checks_visibility(graded: GradeResult) -> None:
    results = to_gradescope(graded)
    by_id = {test["extra_data"]["id"]: test for test in results["tests"]}
    assert by_id[HIDDEN]["visibility"] == "hidden" and by_id[AFTER_DUE]["visibility"] == "after_due_date"
    assert {test["visibility"] for id_, test in by_id.items() if id_ not in (HIDDEN, AFTER_DUE)} == {"visible"}
    assert "6380" in by_id[HIDDEN]["output"]  # Gradescope hides the test itself; instructors still read why
    assert results["score"] == 5 and "redis-port" not in results["output"]  # the always-visible summary


def test_markdown_annotations_and_moodle_feedback_name_no_hidden_check(graded: GradeResult) -> None:
    markdown = to_markdown([graded])
    assert not [leak for leak in LEAKS if leak in markdown]
    assert "| Other checks (2, not shown) | ❌ failed | 2/4 |" in markdown and "5 / 14" in markdown
    assert annotations(graded) == []  # redis-port is the only failure with a location
    assert annotations(grader.grade(SAMPLES / "wrong_port", mode="static"))  # visible, it is annotated
    lines = feedback_lines(graded)
    assert lines[0] == "compose-grader: 5 / 14" and not [leak for line in lines for leak in LEAKS if leak in line]


# What instructors see ----------------------------------------------------------------------------

@pytest.mark.browser
def test_the_dashboard_and_grades_show_every_check(browser, tmp_path: Path) -> None:
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("wrong_port", "perfect"):
        (folder / name).mkdir()
        for item in (SAMPLES / name).iterdir():
            (folder / name / item.name).write_bytes(item.read_bytes())
    out = tmp_path / "out"
    result = grade_batch(folder, out, jobs=1, mode="static", rubric=rubric())
    assert sorted(result.graded) == ["perfect", "wrong_port"]
    page = browser.new_page()
    try:
        page.goto((out / "index.html").as_uri(), wait_until="load")
        tag = page.eval_on_selector(f'th[data-check-id="{HIDDEN}"] .visibility', "e => e.textContent")
        cell = page.eval_on_selector(f'tr[data-submission="wrong_port"] td.cell:nth-of-type({4 + 2})',
                                     "e => e.getAttribute('title')")
    finally:
        page.close()
    assert tag == "hidden" and cell.startswith("redis-port: Failed, 0/2")
    grades = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8-sig"))))
    assert {row["submission"]: row[HIDDEN] for row in grades} == {"perfect": "2", "wrong_port": "0"}
    report = page_text(browser, out / "wrong_port.html")  # the student's own page, linked from the dashboard
    assert not [leak for leak in LEAKS if leak in report] and "2 other checks, not shown" in report
    later = tmp_path / "after-due"  # past the due date, the instructor re-renders without grading
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-m", "grader.cli", "report", str(out / "results.json"), "--out", str(later),
                    "--show-after-due"], check=True, capture_output=True, env=env, timeout=300)
    released = page_text(browser, later / "wrong_port.html")
    assert "named-volume" in released and "1 other check, not shown" in released and "6380" not in released
    # Visibility alone changed: nothing is graded again, and the kept grades take the new visibility.
    again = grade_batch(folder, out, jobs=1, mode="static", rubric=Rubric())
    assert sorted(again.unchanged) == ["perfect", "wrong_port"] and again.graded == []
    kept = {entry["submission"]: entry for entry in json.loads((out / "results.json").read_text())}
    assert {check["visibility"] for check in kept["wrong_port"]["checks"]} == {"visible"}
    assert "6380" in page_text(browser, out / "wrong_port.html")
