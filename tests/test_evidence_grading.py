"""The student's screenshots in a real grading: real Tesseract on the committed pictures, a real
engine and Redis (``docker``-marked tests), and the rubric's say over screenshot evidence.

The samples screenshot_evidence (a clear redis-cli screenshot, no dump.rdb) and
screenshot_other_key (a screenshot of another key) are copies of tests/data/screenshots/.
"""
from __future__ import annotations

import base64
import io
import shutil
import sys
from pathlib import Path

import pytest

from rich.console import Console

from grader.cli.check_output import print_summary
from grader.grading.engine import grade
from grader.results import GradeResult, Status
from grader.rubric import CheckOverride, Rubric, RubricError, load_rubric
from tests.conftest import SAMPLES

SCREENSHOTS = Path(__file__).resolve().parent / "data" / "screenshots"
NO_DUMP_MESSAGE = "The key `student_name` does not exist in Redis (the submission has no dump.rdb)."

requires_ocr = pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract-ocr is not installed")


def student_name(result: GradeResult):
    check = result.check("student-name")
    assert check is not None
    return check


def decoded_size(uri: str) -> tuple[int, int]:
    from PIL import Image

    assert uri.startswith("data:image/png;base64,") or uri.startswith("data:image/jpeg;base64,")
    with Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))) as picture:
        return picture.size


def with_rubric(tmp_path: Path, text: str) -> Rubric:
    path = tmp_path / "rubric.yml"
    path.write_text(text)
    return load_rubric(path)


# Full gradings (engine, Redis, OCR) ----------------------------------------------------------------

@requires_ocr
@pytest.mark.docker
def test_a_clear_screenshot_passes_student_name_without_a_dump(docker_engine) -> None:
    result = grade(SAMPLES / "screenshot_evidence", mode="full")
    check = student_name(result)
    assert check.status is Status.PASSED
    assert check.message.startswith("seen in screenshot redis-cli.png")
    assert "'Maria Garcia'" in check.message
    assert check.screenshot == "redis-cli.png" and check.points == check.max_points == 2
    [shot] = result.evidence.screenshots
    assert (shot.path, shot.value, shot.error, shot.skipped) == ("redis-cli.png", "Maria Garcia", None, None)
    assert "GET student_name" in shot.text and shot.confidence > 0.5
    assert shot.image is not None and decoded_size(shot.image.uri) == (shot.image.width, shot.image.height)
    assert 100 < shot.image.width <= 480
    saved = result.to_dict()
    again = GradeResult.from_dict(saved)
    assert again.to_dict() == saved and student_name(again).screenshot == "redis-cli.png"
    assert again.evidence.screenshots[0].image == shot.image
    assert [source.name for source in result.sources] == ["docker-compose.yml"]
    assert result.sources[0].lines == tuple((SAMPLES / "screenshot_evidence" / "docker-compose.yml").read_text().splitlines())


@requires_ocr
@pytest.mark.docker
def test_a_screenshot_of_another_key_is_no_evidence(docker_engine) -> None:
    result = grade(SAMPLES / "screenshot_other_key", mode="full")
    check = student_name(result)
    assert check.status is Status.FAILED and check.screenshot is None
    assert "no screenshot shows it holding a value (redis-cli.png" in check.message
    [shot] = result.evidence.screenshots
    assert shot.value is None and "keys seen: name" in shot.why


@requires_ocr
@pytest.mark.docker
def test_the_rubric_turns_screenshot_evidence_off(docker_engine, tmp_path: Path) -> None:
    rubric = with_rubric(tmp_path, "checks:\n  student-name: {screenshot_evidence: false}\n")
    check = student_name(grade(SAMPLES / "screenshot_evidence", mode="full", rubric=rubric))
    assert check.status is Status.FAILED and check.message == NO_DUMP_MESSAGE and check.screenshot is None


@requires_ocr
@pytest.mark.docker
def test_the_rubric_makes_a_screenshot_pass_worth_fewer_points(docker_engine, tmp_path: Path) -> None:
    rubric = with_rubric(tmp_path, "checks:\n  student-name: {points: 4, screenshot_points: 1.5}\n")
    result = grade(SAMPLES / "screenshot_evidence", mode="full", rubric=rubric)
    check = student_name(result)
    assert check.status is Status.PASSED and check.screenshot == "redis-cli.png"
    assert (check.points, check.max_points) == (1.5, 4)
    assert result.score == result.max_score - 2.5
    saved = result.to_dict()
    assert [c for c in saved["checks"] if c["id"] == "student-name"][0]["points"] == 1.5
    assert student_name(GradeResult.from_dict(saved)).points == 1.5


@requires_ocr
@pytest.mark.docker
def test_a_dump_still_decides_when_there_is_one(docker_engine, tmp_path: Path) -> None:
    submission = shutil.copytree(SAMPLES / "wrong_key_name", tmp_path / "wrong_key_name")
    shutil.copy(SCREENSHOTS / "dark_clear.png", submission / "redis-cli.png")
    result = grade(submission, mode="full")
    check = student_name(result)
    assert check.status is Status.FAILED and check.screenshot is None
    assert "the grader loaded dump.rdb" in check.message
    assert [shot.value for shot in result.evidence.screenshots] == ["Maria Garcia"]  # read, shown, not counted


# Static gradings and switches (no engine) ---------------------------------------------------------------

@requires_ocr
def test_static_grading_reads_screenshots_for_the_report_and_evidence_false_reads_none() -> None:
    result = grade(SAMPLES / "screenshot_evidence", mode="static")
    assert student_name(result).status is Status.SKIPPED
    assert [shot.value for shot in result.evidence.screenshots] == ["Maria Garcia"]
    quiet = grade(SAMPLES / "screenshot_evidence", mode="static", evidence=False)
    assert quiet.evidence.screenshots == [] and quiet.evidence.skipped == []


def test_static_grading_of_a_submission_with_a_dump_reads_no_screenshots(tmp_path: Path) -> None:
    submission = shutil.copytree(SAMPLES / "wrong_key_name", tmp_path / "sub")
    shutil.copy(SCREENSHOTS / "dark_clear.png", submission / "redis-cli.png")
    assert grade(submission, mode="static").evidence.screenshots == []


def test_without_pytesseract_one_skipped_line_and_grading_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pytesseract", None)
    result = grade(SAMPLES / "screenshot_evidence", mode="static")
    assert result.evidence.skipped == ["skipped: reading screenshots (pytesseract is not installed; "
                                       "pip install 'compose-grader[evidence]')"]
    [shot] = result.evidence.screenshots
    assert shot.value is None and shot.skipped and shot.image is not None  # still shown, not read
    console = Console(record=True, width=200)
    print_summary(console, result, None)
    assert console.export_text().count("skipped: reading screenshots (pytesseract is not installed") == 1
    assert [c.status for c in result.checks] == [c.status for c in grade(SAMPLES / "screenshot_evidence",
                                                                         mode="static", evidence=False).checks]


# The rubric's keys --------------------------------------------------------------------------------------

def test_rubric_screenshot_keys_are_validated(tmp_path: Path) -> None:
    rubric = with_rubric(tmp_path, "checks:\n  student-name: {screenshot_evidence: false, screenshot_points: 1}\n")
    assert rubric.screenshot_rule("student-name") == CheckOverride(screenshot_evidence=False, screenshot_points=1)
    assert Rubric.from_dict(rubric.to_dict()) == rubric
    assert not Rubric().screenshot_rule("redis-port").screenshot_evidence
    for text, message in [
        ("checks:\n  redis-port: {screenshot_points: 1}\n", "checks.redis-port cannot take screenshot evidence"),
        ("checks:\n  student-name: {screenshot_evidence: 1}\n", "screenshot_evidence must be true or false"),
        ("checks:\n  student-name: {screenshot_points: -1}\n", "screenshot_points must be a number >= 0"),
        ("checks:\n  student-name: {points: 1, screenshot_points: 2}\n", "must not be more than its points"),
        ("checks:\n  student-name: {screenshot: 2}\n", "takes 'points', 'enabled', 'visibility', "
                                                       "'screenshot_evidence' and 'screenshot_points'"),
    ]:
        with pytest.raises(RubricError, match=message):
            with_rubric(tmp_path, text)
