"""Page screenshots with Debian's Chromium through playwright, of real pages served on loopback."""
from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from grader.evidence import extras
from grader.evidence.browser import PageCamera, PageShot, ShotSize
from tests.test_probes import serve

pytestmark = pytest.mark.browser
PIL = pytest.importorskip("PIL", reason="the evidence extra (Pillow) is not installed")
from PIL import Image  # noqa: E402

COUNTER_PAGE = "<h1 style='color:#b00020'>This page has been visited {hits} times.</h1>"


class Site:
    """A page on a loopback port (tests/test_probes.serve) that records every path asked for."""

    def __init__(self, page: str, redirect_to: str | None = None) -> None:
        self.page, self.redirect_to = page, redirect_to
        self.requests: list[str] = []

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        self.requests.append(request.path)
        if self.redirect_to and request.path == "/go":
            request.send_response(302)
            request.send_header("Location", self.redirect_to)
            request.send_header("Content-Length", "0")
            request.end_headers()
            return
        body = self.page.format(hits=len(self.requests)).encode()
        request.send_response(200)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)


@contextmanager
def serving(site: Site) -> Iterator[str]:
    with serve(site) as url:
        yield url.rstrip("/")


@pytest.fixture(scope="module")
def camera() -> Iterator[PageCamera]:
    if reason := extras.playwright_missing():
        pytest.skip(reason)
    with PageCamera() as started:
        assert started.skipped is None, started.skipped
        yield started


def decoded(shot: PageShot) -> Image.Image:
    assert shot.png is not None, shot.error or shot.skipped
    picture = Image.open(io.BytesIO(shot.png))
    assert picture.format == "PNG" and picture.size == (shot.width, shot.height)
    return picture.convert("RGB")


def counted_colours(picture: Image.Image) -> list[tuple[int, tuple[int, int, int]]]:
    return picture.getcolors(picture.width * picture.height) or []


def colours(picture: Image.Image) -> int:
    return len(counted_colours(picture))


def reddish_pixels(picture: Image.Image) -> int:
    return sum(count for count, (r, g, b) in counted_colours(picture) if r > 120 and g < 90 and b < 90)


def test_page_screenshot_shows_the_page(camera: PageCamera) -> None:
    site = Site(COUNTER_PAGE)
    with serving(site) as base:
        shot = camera.shoot(base + "/")
    picture = decoded(shot)
    assert shot.error is None and site.requests == ["/"]
    assert "visited 1 times" in shot.text
    assert picture.size == (800, 600) and len(shot.png or b"") > 2000
    assert reddish_pixels(picture) > 500  # the heading's red text was drawn
    assert colours(picture) > 10  # anti-aliased text, not a blank page


def test_the_screenshot_reads_back_with_ocr(camera: PageCamera) -> None:
    if reason := extras.tesseract_missing():
        pytest.skip(reason)
    from grader.evidence.ocr import read_text

    shot = camera.shoot_html(COUNTER_PAGE.format(hits=7))
    assert "visited 7 times" in read_text(decoded(shot)).text


def test_caps_on_pixels_and_bytes_hold(camera: PageCamera) -> None:
    busy = "".join(f"<p style='color:#{i * 2654435761 % 0xFFFFFF:06x}'>{f'line {i} ' * 12}</p>" for i in range(60))
    full = camera.shoot_html(busy, size=ShotSize(viewport=(1200, 900), max_side=1200, max_bytes=10_000_000))
    small = camera.shoot_html(busy, size=ShotSize(viewport=(1200, 900), max_side=300, max_bytes=20_000))
    assert decoded(full).size == (1200, 900) and len(full.png or b"") > 20_000  # the cap had work to do
    picture = decoded(small)
    assert max(picture.size) <= 300 and len(small.png or b"") <= 20_000
    assert colours(picture) > 4


def test_one_camera_serves_several_shots_in_fresh_contexts(camera: PageCamera) -> None:
    site = Site(COUNTER_PAGE)
    with serving(site) as base:
        shots = [camera.shoot(base + "/") for _ in range(3)]
    assert [shot.text for shot in shots] == [f"This page has been visited {n} times." for n in (1, 2, 3)]
    assert all(shot.duration_s < 10 for shot in shots)


def test_nothing_is_fetched_from_another_origin(camera: PageCamera) -> None:
    other = Site("<p>other</p>")
    with serving(other) as other_base:
        page = Site(f"<p>main</p><img src='{other_base}/pixel.png'><link rel=stylesheet href='{other_base}/s.css'>",
                    redirect_to=f"{other_base}/redirected")
        with serving(page) as base:
            shown = camera.shoot(base + "/")
            redirected = camera.shoot(base + "/go")
            rendered = camera.shoot_html(f"<p>html</p><img src='{base}/from-html.png'>")
    assert shown.text == "main" and shown.png
    assert redirected.png is None and redirected.error is not None  # the redirect met the refusing proxy
    assert rendered.text == "html" and rendered.png
    assert other.requests == []
    assert page.requests == ["/", "/go"]  # shoot_html fetched nothing, not even from the page's origin


def test_scripts_are_off_unless_asked(camera: PageCamera) -> None:
    page = "<p id=t>static</p><script>document.getElementById('t').textContent='scripted'</script>"
    assert camera.shoot_html(page).text == "static"


def test_unreachable_page_is_an_error_not_an_exception(camera: PageCamera) -> None:
    with serving(Site("")) as base:
        pass  # the server is gone now: its port refuses
    shot = camera.shoot(base + "/")
    assert shot.png is None and shot.error is not None and "\n" not in shot.error


def test_without_chromium_the_camera_says_it_skipped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(extras.CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    with PageCamera() as camera:
        shot = camera.shoot("http://127.0.0.1:9/")
    assert camera.skipped is not None and camera.skipped.startswith("skipped: page screenshots")
    assert "\n" not in camera.skipped and shot.skipped == camera.skipped and shot.png is None


def test_shot_round_trips_through_its_dict(camera: PageCamera) -> None:
    shot = camera.shoot_html(COUNTER_PAGE.format(hits=2))
    data = json.loads(json.dumps(shot.to_dict()))
    assert data["bytes"] == len(shot.png or b"") and data["data_uri"].startswith("data:image/png;base64,")
    assert PageShot.from_dict(data) == PageShot.from_dict(shot.to_dict())
    assert PageShot.from_dict(data).png == shot.png


@pytest.mark.parametrize("url", ["file:///etc/passwd", "data:text/html,<p>x</p>", "chrome://version", "127.0.0.1:5000"])
def test_only_http_pages_are_shot(camera: PageCamera, url: str) -> None:
    shot = camera.shoot(url)
    assert shot.png is None and shot.text == "" and shot.error == "only http(s) pages are shot"


def test_html_shots_share_one_page_and_nothing_carries_over(camera: PageCamera) -> None:
    first = camera.shoot_html(COUNTER_PAGE.format(hits=1) + "<style>body{background:#00ff00}</style>")
    second = camera.shoot_html("<p>plain</p>", size=ShotSize(viewport=(400, 200), max_side=400))
    assert reddish_pixels(decoded(first)) > 200 and "visited 1 times" in first.text
    picture = decoded(second)
    assert second.text == "plain" and picture.size == (400, 200)
    assert reddish_pixels(picture) == 0  # neither the heading nor the green background is left
    assert not any(g > 200 and r < 100 for _, (r, g, b) in counted_colours(picture))
