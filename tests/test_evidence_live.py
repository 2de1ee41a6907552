"""The grader's own evidence (issue 14), end to end: `grader check` of real samples on the real
engine (real Redis, real Flask, real headless Chromium for the page shots), the JSON it writes,
and its HTML report opened in a real browser.

Chromium is started through a wrapper (GRADER_CHROMIUM) that notes every launch, so a test can
tell whether the grading launched a browser at all.
"""
from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from grader.evidence import extras
from grader.results import GradeResult
from tests.conftest import REPO, SAMPLES, redis_server, signals_as_a_terminal_gives_them
from tests.test_samples_e2e import EXPECTED

pytestmark = [pytest.mark.docker, pytest.mark.browser]
SCREENSHOT_DIR = REPO / "reports" / "screenshots"
BROWSER = extras.chromium_path()  # Debian's chromium-headless-shell when installed, else its chromium
PIL = pytest.importorskip("PIL", reason="the evidence extra (Pillow) is not installed")
from PIL import Image  # noqa: E402


def stored_name(sample: Path, tmp_path: Path) -> str:
    """What the sample's dump.rdb holds in student_name, read by a real redis-server."""
    folder = tmp_path / "rdb"
    folder.mkdir()
    shutil.copy(sample / "dump.rdb", folder / "dump.rdb")
    with redis_server(folder) as port:
        client = redis.Redis(port=port)
        try:
            value = client.get("student_name")
        finally:
            client.close()
    assert value, "the sample's dump.rdb holds no student_name"
    return value.decode()


def launcher(tmp_path: Path) -> tuple[Path, Path]:
    """A Chromium that writes a line to a log on each launch, then is the one the grader would use."""
    log = tmp_path / "chromium-launches.log"
    script = tmp_path / "chromium"
    script.write_text(f"#!/bin/sh\necho launched >> '{log}'\nexec '{BROWSER}' \"$@\"\n")
    script.chmod(0o755)
    return script, log


def grade_cli(submission: Path, out: Path, *extra: str, env: dict[str, str] | None = None) -> tuple[dict, str]:
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "result.json"
    process = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(submission), "--out", str(out),
                              "--json", str(json_path), *extra], capture_output=True, text=True, timeout=600,
                             env={**os.environ, "COLUMNS": "200", **(env or {})})
    assert "Traceback" not in process.stdout + process.stderr, process.stderr
    return json.loads(json_path.read_text()), process.stdout + process.stderr


def statuses(result: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in result["checks"]}


def counts(pages: list[dict]) -> list[int]:
    return [int(re.search(r"visited (\d+) times", page["text"]).group(1)) for page in pages]


def decoded_png(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1], validate=True)
    assert len(data) > 2000, f"a {len(data)}-byte PNG is no screenshot of a page"
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "PNG"
    return picture


@pytest.fixture(scope="module")
def camera_ready() -> None:
    if reason := extras.playwright_missing():
        pytest.skip(reason)


@pytest.fixture(scope="module")
def perfect(docker_engine, camera_ready, tmp_path_factory) -> tuple[dict, Path, Path, str]:
    """`grader check` of the perfect sample, with evidence: (result, report, launch log, output)."""
    tmp = tmp_path_factory.mktemp("perfect")
    chromium, log = launcher(tmp)
    result, output = grade_cli(SAMPLES / "perfect", tmp / "out", env={extras.CHROMIUM_ENV: str(chromium)})
    return result, tmp / "out" / "perfect.html", log, output


def test_the_json_holds_the_redis_cli_session_and_the_pages(perfect, tmp_path: Path) -> None:
    result, _, log, _ = perfect
    evidence = result["evidence"]
    cli = evidence["redis_cli"]
    assert cli["command"] == "docker compose exec redis redis-cli" and cli["unavailable"] is None
    assert [(item["command"], item["reply"]) for item in cli["exchanges"]] == [
        ("PING", ["PONG"]), ("GET student_name", [f'"{stored_name(SAMPLES / "perfect", tmp_path)}"'])]
    pages = evidence["pages"]
    assert [page["label"] for page in pages] == ["visit 1", "visit 2", "visit 3", "after restarting web"]
    seen = counts(pages)
    assert all(b == a + 1 for a, b in zip(seen, seen[1:])), seen
    assert all(page["status"] == 200 and page["image"] for page in pages)
    assert all(max(page["image"]["width"], page["image"]["height"]) <= 640 for page in pages)
    assert log.read_text().count("launched") == 1, "one browser serves every shot of a grading"
    assert evidence["skipped"] == []
    assert GradeResult.from_dict(result).to_dict()["evidence"] == evidence  # a saved result reads back whole


def test_the_json_holds_ps_and_the_log_tails(perfect) -> None:
    result, _, _, _ = perfect
    services = result["evidence"]["services"]
    assert services["ps"][0].split() == ["SERVICE", "IMAGE", "STATUS", "PORTS"]
    rows = {line.split()[0]: line for line in services["ps"][1:]}
    assert set(rows) == {"redis", "web"} and "redis:alpine" in rows["redis"] and " Up " in rows["redis"]
    assert any("Ready to accept connections" in line for line in services["logs"]["redis"])
    assert sum('"GET / HTTP/1.1" 200' in line for line in services["logs"]["web"]) >= 1
    assert all(len(lines) <= 20 for lines in services["logs"].values())
    assert not any("\x1b" in line for lines in services["logs"].values() for line in lines)


def test_the_report_shows_the_page_screenshots_and_the_transcript(perfect, browser, tmp_path: Path) -> None:
    result, report, _, _ = perfect
    name = stored_name(SAMPLES / "perfect", tmp_path)
    context = browser.new_context(viewport={"width": 375, "height": 812})
    network: list[str] = []
    try:
        page = context.new_page()
        page.on("request", lambda request: None if request.url.startswith(("file://", "data:"))
                else network.append(request.url))
        page.goto(report.as_uri(), wait_until="load")
        section = page.locator("#evidence-live")
        assert f'"{name}"' in section.locator("#evidence-redis-cli").inner_text()
        assert "GET student_name" in section.inner_text() and "PONG" in section.inner_text()
        images = section.locator("img")
        assert images.count() == len(result["evidence"]["pages"]) == 4
        for index in range(images.count()):
            image = images.nth(index)
            picture = decoded_png(image.get_attribute("src") or "")
            assert picture.width > 100 and picture.height > 50
            assert image.evaluate("img => img.complete && img.naturalWidth") == picture.width  # the browser drew it
            assert image.bounding_box()["width"] <= 375  # fits a phone
        shown = section.locator("figcaption").all_inner_texts()
        assert [caption.split(" · ")[0] for caption in shown][-1] == "after restarting web"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)  # for a person to look at (git-ignored)
        section.screenshot(path=str(SCREENSHOT_DIR / "evidence-perfect-phone.png"))
    finally:
        context.close()
    assert not network, f"the report fetched {network}"


def test_no_evidence_records_nothing_and_launches_no_browser(perfect, tmp_path: Path) -> None:
    chromium, log = launcher(tmp_path)
    result, _ = grade_cli(SAMPLES / "perfect", tmp_path / "out", "--no-evidence",
                          env={extras.CHROMIUM_ENV: str(chromium)})
    assert result["evidence"] == {"redis_cli": None, "pages": [], "services": None, "screenshots": [], "skipped": []}
    assert not log.exists(), "a browser was launched with --no-evidence"
    assert statuses(result) == statuses(perfect[0]) == EXPECTED["perfect"]["checks"]
    assert 'id="evidence-live"' not in (tmp_path / "out" / "perfect.html").read_text()


def test_a_redis_only_grading_has_a_transcript_and_no_pages(docker_engine, tmp_path: Path) -> None:
    chromium, log = launcher(tmp_path)
    result, _ = grade_cli(SAMPLES / "redis_only", tmp_path / "out", env={extras.CHROMIUM_ENV: str(chromium)})
    evidence = result["evidence"]
    assert evidence["redis_cli"]["exchanges"][0] == {"command": "PING", "reply": ["PONG"]}
    assert evidence["redis_cli"]["exchanges"][1]["reply"] == [f'"{stored_name(SAMPLES / "redis_only", tmp_path)}"']
    assert evidence["pages"] == [] and not log.exists(), "no web service: no page, no browser"
    assert set(evidence["services"]["logs"]) == {"redis"}
    assert statuses(result) == EXPECTED["redis_only"]["checks"]


def test_missing_playwright_is_said_once_and_the_page_text_is_kept(docker_engine, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['playwright'] = None\n")
    path = os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")]))
    result, output = grade_cli(SAMPLES / "perfect", tmp_path / "out", env={"PYTHONPATH": path})
    line = "skipped: page screenshots (playwright is not installed; pip install 'compose-grader[evidence]')"
    assert output.count(line) == 1, output
    assert result["evidence"]["skipped"] == [line]
    pages = result["evidence"]["pages"]
    assert len(pages) == 4 and all(page["image"] is None for page in pages)
    assert counts(pages) == list(range(counts(pages)[0], counts(pages)[0] + 4))
    assert result["evidence"]["redis_cli"]["exchanges"][0]["reply"] == ["PONG"]
    assert statuses(result) == EXPECTED["perfect"]["checks"]
    html = (tmp_path / "out" / "perfect.html").read_text()
    assert "<img" not in html and "This page has been visited" in html


@pytest.fixture
def redis_without_cli(docker_engine) -> Iterator[str]:
    """A Redis image with no redis-cli (built from the local redis:alpine), removed afterwards."""
    tag = f"redis:grader-test-nocli-{uuid.uuid4().hex[:8]}"
    dockerfile = "FROM redis:alpine\nRUN rm \"$(command -v redis-cli)\" && ! command -v redis-cli\n"
    # --force-rm: the classic builder keeps the container of a failed RUN step, and with it the
    # anonymous /data volume redis:alpine declares; a failing fixture must leave neither.
    subprocess.run(["docker", "build", "--force-rm", "-q", "-t", tag, "-"], input=dockerfile, text=True,
                   check=True, capture_output=True, timeout=300)
    try:
        yield tag
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)


def test_an_image_without_redis_cli_is_said_so(redis_without_cli: str, tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "compose.yaml").write_text(
        f"services:\n  redis:\n    image: {redis_without_cli}\n    ports: ['6379:6379']\n"
        "    volumes: ['data:/data']\nvolumes:\n  data:\n")
    result, _ = grade_cli(submission, tmp_path / "out")
    cli = result["evidence"]["redis_cli"]
    assert cli["exchanges"] == [] and "has no redis-cli" in cli["unavailable"], cli
    assert "executable file not found" in cli["unavailable"]
    assert statuses(result)["redis-ping"] == "passed"  # the grader's own client still reaches the server
    html = (tmp_path / "out" / "submission.html").read_text()
    assert "has no redis-cli" in html and 'class="t-note"' in html


ANSWERS_ONCE = """\
import time
from flask import Flask
app = Flask(__name__)
visits = []

@app.route("/")
def index():
    visits.append(1)
    if len(visits) > 1:
        time.sleep(600)  # the second request hangs: the grading is stopped while the camera runs
    return "This page has been visited 1 times."

app.run(host="0.0.0.0", port=5000)
"""


def test_a_stopped_grading_leaves_no_browser_behind(docker_engine, camera_ready, tmp_path: Path) -> None:
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "docker-compose.yml").write_text(
        "services:\n  redis:\n    image: redis:alpine\n  web:\n    build: .\n    ports: ['5000:5000']\n")
    (submission / "Dockerfile").write_text("FROM python:3.11-slim\nCOPY app.py .\nCMD [\"python\", \"app.py\"]\n")
    (submission / "app.py").write_text(ANSWERS_ONCE)
    log = tmp_path / "chromium.pid"
    chromium = tmp_path / "chromium"
    chromium.write_text(f"#!/bin/sh\necho $$ >> '{log}'\nexec '{BROWSER}' \"$@\"\n")  # exec keeps the pid
    chromium.chmod(0o755)
    process = subprocess.Popen([sys.executable, "-m", "grader.cli", "check", str(submission), "--no-html"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, extras.CHROMIUM_ENV: str(chromium)},
                               preexec_fn=signals_as_a_terminal_gives_them)
    try:
        deadline = time.monotonic() + 180
        while not log.exists():
            assert time.monotonic() < deadline and process.poll() is None, "the camera was never started"
            time.sleep(0.2)
        time.sleep(1)  # the browser is up; the check waits on the hanging second request
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, output
    assert "Traceback" not in output
    pid = int(log.read_text().split()[0])
    deadline = time.monotonic() + 10
    while alive(pid):
        assert time.monotonic() < deadline, f"Chromium (pid {pid}) outlived the stopped grading"
        time.sleep(0.2)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has ended; its parent reaps it
