"""A static `grader check` as a student runs it, on a terminal: what it loads, and that it still
says everything (issue 12: static mode imports nothing it does not use)."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES

# Modules a static grading has no use for: the runtime side (pytest, the boot, Redis and HTTP
# clients, sockets), the extras, and rich's live display (no spinner for a fraction of a second).
NOT_FOR_STATIC = ("pytest", "_pytest", "redis", "requests", "urllib3", "http", "socket", "ssl", "playwright", "PIL",
                  "pytesseract", "celery", "grader.grading.pytest_runner", "grader.grading.booting",
                  "grader.docker.stack", "grader.docker.commands", "grader.docker.build", "rich.live",
                  "rich.spinner", "rich.status")

WRAPPER = """
import atexit, sys
loaded_file = sys.argv.pop(1)
atexit.register(lambda: open(loaded_file, "w").write("\\n".join(sorted(sys.modules))))
sys.argv[0] = "grader"
from grader.cli.main import run
run()
"""


def on_a_terminal(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its stdin, stdout and stderr; its exit code and output."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal, cwd=cwd,
                                   env={**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"})
    finally:
        os.close(terminal)
    chunks = []
    try:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_a_static_check_on_a_terminal_loads_nothing_it_does_not_use(tmp_path: Path) -> None:
    loaded_file = tmp_path / "loaded.txt"
    code, output = on_a_terminal([sys.executable, "-c", WRAPPER, str(loaded_file), "check",
                                  str(SAMPLES / "perfect"), "--static", "--out", str(tmp_path / "reports")], tmp_path)
    assert code == 0, output  # nothing failed: the runtime checks are skipped
    assert "redis-port" in output and "static mode" in output and "perfect.html" in output
    assert "\x1b[" in output  # a terminal: rich colours it
    assert (tmp_path / "reports" / "perfect.html").is_file()
    loaded = set(loaded_file.read_text().split())
    assert {"grader.grading.static", "grader.report.html", "rich.console", "ruamel.yaml"} <= loaded  # it did run
    unused = sorted(name for name in loaded if name in NOT_FOR_STATIC or name.split(".")[0] in NOT_FOR_STATIC)
    assert not unused, unused


@pytest.mark.parametrize("wanted", ["--json", "--markdown"])
def test_what_a_static_check_is_asked_to_write_is_still_loaded(tmp_path: Path, wanted: str) -> None:
    """The outputs' modules are loaded while Compose reads (preload): asking for one still writes it."""
    out = tmp_path / "out.txt"
    done = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(SAMPLES / "perfect"), "--static",
                           "--no-html", wanted, str(out)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert "redis-port" in out.read_text()
