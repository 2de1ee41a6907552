"""OCR of real screenshots (tests/data/screenshots, made by make_screenshots.py from a real
redis-cli in a real xterm): the value read and the verdict, as the manifest says; the accuracy
and time per picture are printed."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from grader.evidence import extras
from grader.evidence.images import find_images
from grader.evidence.ocr import OcrSettings, ScreenshotReading, first_evidence, read_screenshot, read_screenshots

SCREENSHOTS = Path(__file__).resolve().parent / "data" / "screenshots"
MANIFEST = json.loads((SCREENSHOTS / "manifest.json").read_text())["screenshots"]
EXPECTED = {entry["file"]: entry for entry in MANIFEST}

pytestmark = pytest.mark.skipif(extras.tesseract_missing() is not None,
                                reason=str(extras.tesseract_missing()))


@pytest.fixture(scope="module")
def readings() -> dict[str, ScreenshotReading]:
    scan = find_images(SCREENSHOTS)
    return {reading.path: reading for reading in read_screenshots(SCREENSHOTS, scan)}


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]


def plain(lines: list[str]) -> str:
    return "\n".join(" ".join(line.split()) for line in lines if line.strip())


def test_every_committed_screenshot_is_in_the_manifest_and_found() -> None:
    on_disk = {path.name for path in SCREENSHOTS.iterdir() if path.suffix in (".png", ".jpg")}
    assert on_disk == set(EXPECTED)
    assert {image.path for image in find_images(SCREENSHOTS).images} == on_disk
    assert {entry["evidence"] for entry in MANIFEST} == {True, False}
    for path in on_disk:
        assert (SCREENSHOTS / path).stat().st_size < 150_000


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_screenshot_value_and_verdict(readings: dict[str, ScreenshotReading], name: str) -> None:
    reading, expected = readings[name], EXPECTED[name]
    assert reading.error is None and reading.skipped is None
    assert reading.evidence is expected["evidence"], reading.why
    assert reading.value == expected["name_value"], reading.text
    if expected["evidence"]:
        assert expected["name_value"] in reading.why
        assert reading.confidence > 0.5
    else:
        assert reading.sighting.pattern == "none"


def test_ocr_accuracy_and_time(readings: dict[str, ScreenshotReading], capsys: pytest.CaptureFixture[str]) -> None:
    rows, errors, chars, exact = [], 0, 0, 0
    for name, expected in sorted(EXPECTED.items()):
        reading = readings[name]
        truth, got = plain(expected["text"]), plain(reading.text.splitlines())
        distance = edit_distance(got, truth)
        errors, chars = errors + distance, chars + len(truth)
        exact += reading.value == expected["name_value"] and reading.evidence is expected["evidence"]
        rows.append(f"  {name:24} chars {1 - distance / len(truth):6.1%}  {reading.duration_s:5.2f} s  "
                    f"value {reading.value!r}")
        assert 1 - distance / len(truth) > 0.85, f"{name}: read {reading.text!r}"
    accuracy = 1 - errors / chars
    times = [reading.duration_s for reading in readings.values()]
    with capsys.disabled():
        print(f"\nOCR on {len(EXPECTED)} screenshots: verdict and value right on {exact}/{len(EXPECTED)}, "
              f"character accuracy {accuracy:.1%}, {sum(times) / len(times):.2f} s per picture "
              f"(max {max(times):.2f} s)\n" + "\n".join(rows))
    assert exact == len(EXPECTED)
    assert accuracy > 0.93


def test_first_evidence_is_the_first_picture_that_shows_the_name(readings: dict[str, ScreenshotReading]) -> None:
    ordered = [readings[name] for name in sorted(readings)]
    first = first_evidence(ordered)
    assert first is not None and first.path == "cropped.png" and first.value == "Aisha Okafor"
    assert first_evidence([readings["no_key.png"], readings["other_key.png"]]) is None


def test_reading_round_trips_through_its_dict(readings: dict[str, ScreenshotReading]) -> None:
    for reading in readings.values():
        again = ScreenshotReading.from_dict(json.loads(json.dumps(reading.to_dict())))
        assert again.to_dict() == reading.to_dict()
        assert again.sighting == reading.sighting


def test_another_key_name_from_the_rubric(tmp_path: Path) -> None:
    """The key is the rubric's: the picture with `name` is evidence when the key is `name`."""
    shutil.copy(SCREENSHOTS / "other_key.png", tmp_path / "shot.png")
    found = find_images(tmp_path).images[0]
    reading = read_screenshot(tmp_path, found, key="name")
    assert reading.evidence and reading.value == "Maria Garcia"
    assert not read_screenshot(tmp_path, found).evidence


def test_timeout_kills_tesseract_and_says_so(tmp_path: Path) -> None:
    shutil.copy(SCREENSHOTS / "photo_lowcontrast.jpg", tmp_path / "photo.jpg")
    found = find_images(tmp_path).images[0]
    started = time.monotonic()
    reading = read_screenshot(tmp_path, found, settings=OcrSettings(timeout_s=0.01))
    assert time.monotonic() - started < 5
    assert reading.error is not None and "timeout" in reading.error.lower()
    assert not reading.evidence and reading.text == ""


def test_picture_gone_since_the_scan_is_an_error_not_an_exception(tmp_path: Path) -> None:
    shutil.copy(SCREENSHOTS / "dark_clear.png", tmp_path / "a.png")
    found = find_images(tmp_path).images[0]
    (tmp_path / "a.png").unlink()
    reading = read_screenshot(tmp_path, found)
    assert reading.error is not None and "cannot be read" in reading.error
    assert not reading.evidence


def test_without_tesseract_each_reading_says_what_was_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(SCREENSHOTS / "dark_clear.png", tmp_path / "a.png")
    scan = find_images(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-bin"))
    (reading,) = read_screenshots(tmp_path, scan)
    assert reading.skipped is not None and reading.skipped.startswith("skipped: reading screenshots")
    assert "tesseract" in reading.skipped and "\n" not in reading.skipped
    assert not reading.evidence and reading.error is None


def test_time_budget_leaves_the_rest_unread(tmp_path: Path) -> None:
    for name in ("a.png", "b.png"):
        shutil.copy(SCREENSHOTS / "dark_clear.png", tmp_path / name)
    readings = read_screenshots(tmp_path, find_images(tmp_path), settings=OcrSettings(budget_s=0))
    assert [reading.skipped is not None and "budget" in reading.skipped for reading in readings] == [True, True]

