"""Without an optional part, evidence says in one line what it skipped, and nothing raises."""
from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from grader.evidence import extras
from grader.evidence.browser import PageCamera


@pytest.mark.parametrize(("module", "check", "feature"), [
    ("PIL", extras.pillow_missing, "pictures"),
    ("pytesseract", extras.tesseract_missing, "reading screenshots"),
    ("playwright", extras.playwright_missing, "page screenshots"),
])
def test_a_missing_module_is_one_line_with_the_extra_to_install(
        monkeypatch: pytest.MonkeyPatch, module: str, check: Callable[[], str | None], feature: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an absent package looks like to find_spec
    reason = check()
    assert reason is not None and reason.startswith(f"skipped: {feature} (")
    assert "compose-grader[evidence]" in reason and "\n" not in reason


def test_without_playwright_the_camera_skips_every_shot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright", None)
    with PageCamera() as camera:
        shots = [camera.shoot("http://127.0.0.1:9/"), camera.shoot_html("<p>x</p>")]
    assert camera.skipped and all(shot.skipped == camera.skipped and shot.png is None for shot in shots)


def test_chromium_path_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(extras.CHROMIUM_ENV, raising=False)
    shell = extras.HEADLESS_SHELL
    assert extras.chromium_path() == (shell if os.access(shell, os.X_OK) else Path("/usr/bin/chromium"))
    monkeypatch.setattr(extras, "HEADLESS_SHELL", tmp_path / "no-such-shell")
    assert extras.chromium_path() == Path("/usr/bin/chromium")
    monkeypatch.setenv(extras.CHROMIUM_ENV, str(tmp_path / "chrome"))
    assert extras.chromium_path() == tmp_path / "chrome"


def test_skip_notes_keep_each_reason_once_in_order() -> None:
    notes = extras.SkipNotes()
    for reason in ("skipped: b", None, "skipped: a", "skipped: b", ""):
        notes.add(reason)
    assert notes.lines == ["skipped: b", "skipped: a"]
