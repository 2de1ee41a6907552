"""Evidence in the pages, in headless Chromium (``browser``): the annotated Compose file of a real
failing grading, the student's screenshots in a real screenshot grading, and the dashboard's
gallery re-rendered from results.json by `grader report`. Any request that is not file:// fails.
Screenshots go to reports/screenshots/ (git-ignored): evidence-annotated-wrong_port.png,
evidence-screenshots.png, dashboard-gallery.png.
"""
from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.evidence_record import CliExchange, Evidence, PageEvidence, PictureData, RedisCliEvidence, ScreenshotEvidence
from grader.grading.engine import grade
from grader.report import gradebook
from grader.report.html import write_html
from grader.results import CheckResult, GradeResult, Status
from grader.rubric import DEFAULT_ORDER
from tests.conftest import SAMPLES
from tests.test_report_browser import assert_no_horizontal_overflow, screenshot

pytestmark = pytest.mark.browser
HOSTILE = '<img src=x onerror="window.__owned=1">'


@pytest.fixture
def open_file(browser):
    contexts = []

    def _open(path: Path, width: int = 1100):
        context = browser.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()
        requests: list[str] = []
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                   else (requests.append(route.request.url), route.abort()))
        page.goto(path.as_uri(), wait_until="load")
        return page, requests

    yield _open
    for context in contexts:
        context.close()


def natural_widths(page, selector: str) -> list[int]:
    return page.eval_on_selector_all(selector, "imgs => imgs.map(i => i.complete ? i.naturalWidth : -1)")


@pytest.mark.docker
def test_a_failing_samples_report_shows_each_finding_at_its_line(docker_engine, open_file, tmp_path: Path) -> None:
    result = grade(SAMPLES / "wrong_port", mode="full")
    port = result.check("redis-port")
    assert port is not None and port.status is Status.FAILED and port.location is not None
    page, requests = open_file(write_html(result, tmp_path / "wrong_port.html"))
    note = page.locator('#annotated .note[data-label="redis-port"]')
    assert note.count() == 1 and note.is_visible()
    line = page.locator(f'#annotated li.src-line:has(.note[data-label="redis-port"])')
    assert line.get_attribute("data-line") == str(port.location.line)
    source = (SAMPLES / "wrong_port" / port.location.file).read_text().splitlines()
    assert line.locator(".src").inner_text() == source[port.location.line - 1]
    assert "ports" in line.locator(".src").inner_text()       # the mapping 6380:6379 is under ports:
    assert page.locator("#annotated li.src-line").count() == len(source)
    assert page.locator("#annotated .note").count() == 1       # one finding: the port
    assert "6379" in note.inner_text() and "Fix:" in note.inner_text()
    assert not requests
    screenshot(page, "evidence-annotated-wrong_port")


@pytest.mark.docker
def test_a_screenshot_samples_report_shows_the_picture_and_what_was_read(docker_engine, open_file,
                                                                          tmp_path: Path) -> None:
    result = grade(SAMPLES / "screenshot_evidence", mode="full")
    page, requests = open_file(write_html(result, tmp_path / "report.html"))
    shot = page.locator('#screenshots li.shot[data-path="redis-cli.png"]')
    assert shot.get_attribute("data-verdict") == "evidence" and shot.get_attribute("data-decided") == "true"
    [width] = natural_widths(page, "#screenshots img")
    assert width == result.evidence.screenshots[0].image.width > 100
    assert "Maria Garcia" in shot.locator('[data-role="verdict"]').inner_text()
    assert "counted for student-name" in shot.locator('[data-role="verdict"]').inner_text()
    assert "GET student_name" in shot.locator('[data-role="text"]').text_content()
    card = page.locator('article.check[data-check-id="student-name"]')
    assert "seen in screenshot redis-cli.png" in card.locator(".message").inner_text()
    assert not requests
    phone, _ = open_file(tmp_path / "report.html", width=375)
    assert_no_horizontal_overflow(phone, 375)   # the picture and the annotated file fit a phone
    screenshot(page, "evidence-screenshots")


def png_uri(colour: tuple[int, int, int], size: tuple[int, int] = (160, 90)) -> PictureData:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return PictureData("data:image/png;base64," + base64.b64encode(out.getvalue()).decode(), *size)


def graded(name: str, evidence: Evidence, screenshot: str | None) -> dict:
    checks = [CheckResult(check_id, check_id, Status.PASSED, 2, screenshot=screenshot if check_id == "student-name"
                          else None, message="seen in screenshot" if check_id == "student-name" and screenshot else "")
              for check_id in DEFAULT_ORDER]
    entry = GradeResult(name, checks, "2026-01-01T10:00:00+00:00", 9.0, "0.1.0", evidence=evidence).to_dict()
    entry["batch"] = {"source": name, "content_hash": "0" * 64, "grading_key": "k"}
    return entry


def test_the_dashboard_gallery_from_results_json(open_file, tmp_path: Path) -> None:
    evidence = Evidence(
        redis_cli=RedisCliEvidence("redis", "docker compose exec redis redis-cli --no-raw",
                                   (CliExchange("PING", ("PONG",)), CliExchange("GET student_name", (f'"{HOSTILE}"',)))),
        pages=[PageEvidence("visit 1", "http://web:5000/", 200, "visited 1 times", png_uri((20, 120, 200)))],
        screenshots=[ScreenshotEvidence("redis-cli.png", "GET student_name", "Maria Garcia", "GET answered",
                                        0.9, png_uri((30, 30, 30), (200, 60)))])
    entries = [graded("lab3-mgarcia", evidence, "redis-cli.png"), graded("lab3-plain", Evidence(), None)]
    first = tmp_path / "first"
    gradebook.render_outputs(entries, first)
    again = tmp_path / "again"
    process = subprocess.run([sys.executable, "-m", "grader.cli", "report", str(first / "results.json"), "--out",
                              str(again)], capture_output=True, text=True, timeout=120, env={**os.environ})
    assert process.returncode == 0, process.stderr
    page, requests = open_file(again / "index.html")
    cards = page.locator("#gallery > li")
    assert cards.count() == 1                                   # the plain grading recorded nothing
    card = cards.first
    assert card.get_attribute("data-screenshot-pass") == "redis-cli.png"
    assert natural_widths(page, "#gallery img") == [160, 200]   # the page, then the screenshot
    assert card.locator('figure[data-kind="screenshot"]').get_attribute("data-decided") == "true"
    assert HOSTILE in card.locator('[data-role="redis-cli"]').inner_text()
    assert page.evaluate("window.__owned") is None
    href = card.locator(".who a").get_attribute("href")
    assert (again / href).is_file()
    row = page.locator('#students tr[data-submission="lab3-mgarcia"]')
    assert row.locator('td.cell .shot-mark[data-screenshot="redis-cli.png"]').count() == 1
    assert page.locator('#students tr[data-submission="lab3-plain"] .shot-mark').count() == 0
    screenshot(page, "dashboard-gallery")
    assert not requests
    saved = {entry["submission"]: entry for entry in json.loads((first / "results.json").read_text())}
    read_back = GradeResult.from_dict(saved["lab3-mgarcia"])
    assert read_back.evidence == evidence and read_back.check("student-name").screenshot == "redis-cli.png"
