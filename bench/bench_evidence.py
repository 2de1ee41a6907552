"""Benchmark: what evidence costs (issue 14), so that it does not slow grading much.

1. OCR of each committed test screenshot (tests/data/screenshots): the median of --runs
   readings per picture, as the grader reads them (one Tesseract thread), and the same with
   OpenMP threads unlimited (Tesseract's default); prints both and their ratio (the reason for one thread).
2. Page screenshots: Chromium's launch once, then the median time of a shot of a page served
   on loopback and of a shot of HTML already fetched.

    python bench/bench_evidence.py             # both
    python bench/bench_evidence.py --runs 5 --skip-browser
"""
from __future__ import annotations

import argparse
import http.server
import os
import statistics
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "tests" / "data" / "screenshots"
sys.path.insert(0, str(REPO))

from grader.evidence import extras  # noqa: E402
from grader.evidence.images import FoundImage, find_images  # noqa: E402
from grader.evidence.ocr import read_screenshot  # noqa: E402

PAGE = b"<h1>This page has been visited 3 times.</h1>"


NO_LIMIT = 64  # as good as unset (Tesseract's nested OpenMP sections may then use 2 x 2 x ... threads)


def timed_reading(found: FoundImage, threads: int) -> float:
    os.environ["OMP_THREAD_LIMIT"] = str(threads)  # read_text keeps a value already set
    return read_screenshot(SCREENSHOTS, found).duration_s


def bench_ocr(runs: int) -> None:
    if reason := extras.tesseract_missing():
        print(reason)
        return
    single: dict[str, float] = {}
    default: dict[str, float] = {}
    for found in find_images(SCREENSHOTS).images:
        # Alternated, so that a change in the machine's load falls on both alike.
        pairs = [(timed_reading(found, 1), timed_reading(found, NO_LIMIT)) for _ in range(runs)]
        single[found.path] = statistics.median(one for one, _ in pairs)
        default[found.path] = statistics.median(many for _, many in pairs)
    print(f"OCR, median of {runs} per picture (one thread / OpenMP threads unlimited, {os.cpu_count()} cores):")
    for path in single:
        print(f"  {path:24} {single[path]:5.2f} s   {default[path]:5.2f} s")
    total_single, total_default = sum(single.values()), sum(default.values())
    print(f"  {'all':24} {total_single:5.2f} s   {total_default:5.2f} s   "
          f"ratio {total_default / total_single:.1f}x; mean {total_single / len(single):.2f} s per picture")


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: object) -> None:
        pass


def bench_browser(runs: int) -> None:
    from grader.evidence.browser import PageCamera

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        started = time.monotonic()
        with PageCamera() as camera:
            launched = time.monotonic() - started
            if camera.skipped:
                print(camera.skipped)
                return
            shots = [camera.shoot(url).duration_s for _ in range(runs)]
            rendered = [camera.shoot_html(PAGE.decode()).duration_s for _ in range(runs)]
        print(f"Chromium launch {launched:.2f} s; shot of a loopback page {statistics.median(shots):.2f} s, "
              f"of fetched HTML {statistics.median(rendered):.2f} s (medians of {runs})")
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-ocr", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    if not args.skip_ocr:
        bench_ocr(args.runs)
    if not args.skip_browser:
        bench_browser(args.runs)


if __name__ == "__main__":
    main()
