"""Screenshots of a page with a real headless browser: playwright driving Debian's Chromium.

``PageCamera`` launches Chromium once and takes any number of shots: ``shoot`` each in a fresh
browser context (no cookies or cache shared between them), ``shoot_html`` in one offline page
(see there). The page is the student's, so:
- JavaScript is off unless asked for, service workers are blocked, downloads refused;
- the browser may fetch only from the page's own origin (``shoot``) or nothing at all
  (``shoot_html``, which renders HTML the grader already fetched, so that taking evidence does
  not add a visit to a counter); any other request is aborted before it is sent. Playwright's
  routes do not see redirects, so each context also has a proxy that refuses every connection
  (a loopback port bound and never listened on), bypassed only for the page's own host:port;
- each shot is bounded in time, and its PNG in pixels and bytes.
Playwright's sync API belongs to the thread that started it: use one camera per thread.
Without playwright or Chromium the camera says why in ``skipped`` and every shot is skipped.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from grader.evidence.extras import chromium_path, pillow_missing, playwright_missing
from grader.evidence.images import PictureRefused, data_uri_of, fit_png

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
MAX_TEXT_CHARS = 2000


@dataclass(frozen=True)
class PageShot:
    """One page: its PNG (None when not taken), the text it shows, and why if not taken."""

    url: str
    png: bytes | None = None
    width: int = 0
    height: int = 0
    text: str = ""
    duration_s: float = 0.0
    skipped: str | None = None
    error: str | None = None

    @property
    def data_uri(self) -> str | None:
        return data_uri_of(self.png, "image/png") if self.png else None

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "width": self.width, "height": self.height,
                "bytes": len(self.png) if self.png else 0, "data_uri": self.data_uri, "text": self.text,
                "duration_s": round(self.duration_s, 3), "skipped": self.skipped, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PageShot:
        import base64

        uri = data.get("data_uri") or ""
        png = base64.b64decode(uri.split(",", 1)[1]) if uri.startswith("data:image/png;base64,") else None
        return cls(url=data["url"], png=png, width=data.get("width", 0), height=data.get("height", 0),
                   text=data.get("text", ""), duration_s=data.get("duration_s", 0.0),
                   skipped=data.get("skipped"), error=data.get("error"))


@dataclass(frozen=True)
class ShotSize:
    """The browser's window, and the caps on the PNG kept (it is downscaled to fit)."""

    viewport: tuple[int, int] = (800, 600)
    max_side: int = 800
    max_bytes: int = 200_000


class PageCamera:
    """``with PageCamera() as camera: shot = camera.shoot("http://127.0.0.1:5000/")``

    One camera at a time per thread: playwright's sync API allows one driver per thread."""

    def __init__(self, size: ShotSize = ShotSize(), timeout_s: float = 10.0, scripts: bool = False) -> None:
        self.size = size
        self.timeout_ms = timeout_s * 1000
        self.scripts = scripts
        self.skipped: str | None = None
        self._browser: Any = None
        self._dead_end: socket.socket | None = None
        self._cleanup = ExitStack()
        self._offline: Any = None     # the page every shoot_html renders in

    def __enter__(self) -> PageCamera:
        self.skipped = playwright_missing()
        if self.skipped:
            return self
        from playwright.sync_api import Error, sync_playwright

        self._dead_end = self._cleanup.enter_context(socket.socket())
        self._dead_end.bind(("127.0.0.1", 0))  # bound, never listening: connecting is refused
        try:
            driver = self._cleanup.enter_context(sync_playwright())
            self._browser = driver.chromium.launch(executable_path=str(chromium_path()), headless=True,
                                                   args=CHROMIUM_ARGS, timeout=self.timeout_ms * 3)
            self._cleanup.callback(self._browser.close)
        except Error as error:  # Chromium would not start, or an asyncio loop runs in this thread
            self.close()
            self.skipped = f"skipped: page screenshots (Chromium did not start: {_first_line(error)[:160]})"
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the browser, stop playwright's driver and free the port (in that order)."""
        self._browser = self._offline = None
        self._cleanup.close()

    def _proxy(self, allowed: tuple[str, str] | None) -> dict[str, str]:
        assert self._dead_end is not None
        port = self._dead_end.getsockname()[1]
        # "<-loopback>" drops Chromium's implicit direct access to loopback: only the page's own
        # host:port goes direct; everything else meets the refusing proxy.
        bypass = "<-loopback>" + (f",{allowed[1]}" if allowed else "")
        return {"server": f"http://127.0.0.1:{port}", "bypass": bypass}

    def shoot(self, url: str, size: ShotSize | None = None) -> PageShot:
        """Load ``url`` (only its own origin may be fetched) and photograph the viewport."""
        origin = urlsplit(url)
        if origin.scheme not in ("http", "https") or not origin.netloc:
            return PageShot(url, error="only http(s) pages are shot")  # never file:, data: or the like
        return self._shot(url, lambda page: page.goto(url, wait_until="load", timeout=self.timeout_ms),
                          (origin.scheme, origin.netloc), size or self.size)

    def shoot_html(self, html: str, label: str = "about:blank", size: ShotSize | None = None) -> PageShot:
        """Render HTML already fetched, with no network at all; ``label`` names it in the shot.

        Every such shot reuses one offline page (a fresh page costs Chromium a renderer process,
        about a quarter of a second of CPU): with no network, and no scripts unless asked for,
        a page leaves nothing behind for the next, whose content replaces it."""
        size = size or self.size
        load = lambda page: page.set_content(html, wait_until="load", timeout=self.timeout_ms)  # noqa: E731
        if self.scripts or self.skipped or self._browser is None:  # a script could leave state: a fresh page
            return self._shot(label, load, None, size)
        if self._offline is None:
            self._offline = self._cleanup.enter_context(self._page(None, size))
        self._offline.set_viewport_size({"width": size.viewport[0], "height": size.viewport[1]})
        return self._take(label, self._offline, load, size)

    def _shot(self, label: str, load: Any, allowed: tuple[str, str] | None, size: ShotSize) -> PageShot:
        if self.skipped or self._browser is None:
            return PageShot(label, skipped=self.skipped or "skipped: page screenshots (camera not started)")
        with self._page(allowed, size) as page:
            return self._take(label, page, load, size)

    @contextmanager
    def _page(self, allowed: tuple[str, str] | None, size: ShotSize) -> Iterator[Any]:
        """A page in a fresh context that may fetch only from ``allowed`` (nothing for None)."""
        context = self._browser.new_context(
            viewport={"width": size.viewport[0], "height": size.viewport[1]}, java_script_enabled=self.scripts,
            service_workers="block", accept_downloads=False, proxy=self._proxy(allowed))
        try:
            context.route("**/*", lambda route: _only(route, allowed))
            yield context.new_page()
        finally:
            context.close()

    def _take(self, label: str, page: Any, load: Any, size: ShotSize) -> PageShot:
        from playwright.sync_api import Error

        started = time.monotonic()
        try:
            load(page)
            png = page.screenshot(type="png", timeout=self.timeout_ms)
            text = page.inner_text("body", timeout=self.timeout_ms)[:MAX_TEXT_CHARS]
        except Error as error:  # the page failed to load or render in time: said in the shot
            return PageShot(label, error=_first_line(error), duration_s=time.monotonic() - started)
        return _fitted(label, png, text, size, time.monotonic() - started)


def _fitted(label: str, png: bytes, text: str, size: ShotSize, duration_s: float) -> PageShot:
    if pillow_missing():  # cannot downscale: keep the shot only if it already fits
        if len(png) > size.max_bytes or max(size.viewport) > size.max_side:
            return PageShot(label, text=text, duration_s=duration_s, skipped=pillow_missing())
        return PageShot(label, png, size.viewport[0], size.viewport[1], text, duration_s)
    import io

    from PIL import Image as PILImage

    try:
        data, width, height = fit_png(PILImage.open(io.BytesIO(png), formats=["PNG"]), size.max_side, size.max_bytes)
    except PictureRefused as refused:
        return PageShot(label, text=text, duration_s=duration_s, error=f"screenshot {refused}")
    return PageShot(label, data, width, height, text, duration_s)


def _only(route: Any, allowed: tuple[str, str] | None) -> None:
    target = urlsplit(route.request.url)
    if target.scheme in ("data", "about") or (allowed and (target.scheme, target.netloc) == allowed):
        route.continue_()
    else:
        route.abort("blockedbyclient")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:200]
