"""The annotated Compose file and the screenshots in the report, and the dashboard gallery's caps:
placement of findings (never on a wrong line), the file text a static grading keeps, escaping,
and pictures only as data:image/ URIs. No engine, no browser (tests/test_evidence_report_browser.py
has those)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from grader.evidence_record import Evidence, PictureData, ScreenshotEvidence
from grader.grading.engine import grade
from grader.report import gallery as gallery_module
from grader.report.annotations import annotate
from grader.report.entry import Entry
from grader.report.html import render_html
from grader.results import CheckResult, GradeResult, Ignored, Location, PolicyViolation, SourceFile, Status
from tests.conftest import SAMPLES

HOSTILE = '<script>window.__owned=1</script>'
PIXEL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABc3UBGAAAAABJRU5ErkJggg=="


def failing(check_id: str, where: Location | None, status: Status = Status.FAILED) -> CheckResult:
    return CheckResult(check_id, check_id, status, 2, message=f"{check_id} is wrong", hint="fix it", location=where)


def result_with_findings() -> GradeResult:
    return GradeResult(
        "s", [failing("redis-port", Location("compose.yml", 3)), failing("named-volume", Location("compose.yml", 99)),
              failing("redis-image", Location("override.yml", 2)), failing("stack-up", None),
              CheckResult("redis-ping", "ping", Status.PASSED, 1, location=Location("compose.yml", 1))],
        "", 1.0, "0", compose_file="compose.yml",
        policy=[PolicyViolation("privileged", "runs privileged", Location("compose.yml", 4))],
        ignored=[Ignored("COMPOSE_PROJECT_NAME", ".env", "the grader names the project", Location(".env", 2))],
        sources=[SourceFile("compose.yml", ("services:", "  redis:", "    ports: ['6380:6379']", f"    x: '{HOSTILE}'"))])


def test_findings_sit_at_their_lines_and_the_rest_under_their_file() -> None:
    annotated = annotate(result_with_findings())
    [compose] = annotated.files
    placed = {line.number: [(f.kind, f.label) for f in line.findings] for line in compose.lines if line.findings}
    assert placed == {3: [("check", "redis-port")], 4: [("policy", "privileged")]}
    assert [(f.label, f.location.line) for f in compose.unplaced] == [("named-volume", 99)]  # past the end
    assert {name: [f.label for f in findings] for name, findings in annotated.elsewhere.items()} == {
        "override.yml": ["redis-image"], ".env": ["COMPOSE_PROJECT_NAME"]}
    assert compose.finding_count == 3


def test_the_report_escapes_the_file_and_the_text_read_and_shows_only_data_pictures() -> None:
    result = result_with_findings()
    result.evidence = Evidence(screenshots=[
        ScreenshotEvidence("a.png", f"GET x {HOSTILE}", None, "no key", 0.5, PictureData(PIXEL, 1, 1)),
        ScreenshotEvidence("b.png", "", None, "", 0.0, PictureData("https://example.com/x.png", 1, 1)),
        ScreenshotEvidence("c.png", error="not read: not a PNG or JPEG")])
    page = render_html(result)
    assert HOSTILE not in page and "&lt;script&gt;" in page
    assert page.count("<img ") == 1 and f'src="{PIXEL}"' in page and "example.com" not in page
    assert 'data-path="c.png" data-verdict="unread"' in page


def test_a_static_grading_keeps_the_file_text_findings_point_at(tmp_path: Path) -> None:
    submission = tmp_path / "hand-in"
    shutil.copytree(SAMPLES / "wrong_port", submission / "lab3")   # one sub-folder: names carry it
    result = grade(submission, mode="static")
    port = result.check("redis-port")
    assert port.status is Status.FAILED and port.location.file == "lab3/docker-compose.yaml"
    [source] = result.sources
    assert source.name == port.location.file
    assert source.lines == tuple((SAMPLES / "wrong_port" / "docker-compose.yaml").read_text().splitlines())
    [compose] = annotate(result).files
    assert [f.label for f in compose.lines[port.location.line - 1].findings] == ["redis-port"]
    assert GradeResult.from_dict(result.to_dict()).sources == result.sources


def test_a_file_that_does_not_load_is_shown_with_the_error_at_its_line() -> None:
    result = grade(SAMPLES / "broken_yaml", mode="static")
    check = result.check("compose-file")
    assert check.status is Status.FAILED and check.location and check.location.line
    [compose] = annotate(result).files
    assert compose.name == check.location.file
    assert [f.label for f in compose.lines[check.location.line - 1].findings] == ["compose-file"]


def test_the_gallery_keeps_to_its_size_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    picture = PictureData(PIXEL, 1, 1)
    shots = [ScreenshotEvidence(f"{i}.png", value="x" if i == 2 else None, image=picture) for i in range(3)]
    decided = CheckResult("student-name", "n", Status.PASSED, 2, screenshot="2.png")
    entries = [Entry(GradeResult(f"s{i}", [decided], "", 1.0, "0", evidence=Evidence(screenshots=shots)))
               for i in range(3)]
    monkeypatch.setattr(gallery_module, "MAX_TOTAL_BYTES", len(PIXEL) * 5)
    cards = gallery_module.gallery([(entry, f"{entry.submission}.html") for entry in entries])
    assert [len(card.thumbs) for card in cards] == [2, 2, 1] and [card.left_out for card in cards] == [0, 0, 1]
    assert cards[0].thumbs[0].label == "2.png" and cards[0].thumbs[0].decided   # the deciding picture first
    assert all(card.screenshot_pass == "2.png" for card in cards)
