"""Shared test fixtures: a real Docker engine, and a record of what existed before the suite."""
from __future__ import annotations

import os
import signal
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_submissions"
GRADER_LABEL = "org.compose-grader"


def signals_as_a_terminal_gives_them() -> None:
    """``preexec_fn`` for a grader the test will Ctrl-C: SIGINT at its default, whatever the suite
    inherited. A job started in the background by a shell has SIGINT ignored, and Python keeps an
    ignored SIGINT ignored (as it should: that is how `nohup` and `&` work), so without this the
    signal tests would test how the suite was launched."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def docker_lines(*args: str) -> set[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return set(result.stdout.split())


def engine_available() -> bool:
    try:
        subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=True)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Tests that boot stacks need a real engine; without one they fail, unless told to skip."""
    if not engine_available():
        if os.environ.get("GRADER_TESTS_ALLOW_NO_DOCKER"):
            pytest.skip("no Docker engine (GRADER_TESTS_ALLOW_NO_DOCKER is set)")
        pytest.fail("no Docker engine reachable: run scripts/setup-env.sh first (or set GRADER_TESTS_ALLOW_NO_DOCKER=1)")


def snapshot() -> dict[str, set[str]]:
    return {
        "containers": docker_lines("ps", "-aq"),
        "volumes": docker_lines("volume", "ls", "-q"),
        # Custom networks only: the built-in bridge gets a new id whenever dockerd restarts.
        "networks": docker_lines("network", "ls", "-q", "--filter", "type=custom"),
        "images": docker_lines("image", "ls", "-aq"),
    }


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[BASELINE] = snapshot() if engine_available() else None
    session.config.stash[TEMP_BASELINE] = set(os.listdir(tempfile.gettempdir()))


BASELINE = pytest.StashKey[dict]()
TEMP_BASELINE = pytest.StashKey[set]()  # the names in the temp folder when the suite started


# Shared servers and browsers ----------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
REDIS_SERVER = shutil.which("redis-server")


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through Playwright (no browser download: the system one)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: cannot run browser tests")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            yield chromium
        finally:
            chromium.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_server(folder: Path, password: str | None = None) -> Iterator[int]:
    """A real redis-server on a free loopback port, stopped afterwards; yields the port."""
    if REDIS_SERVER is None:
        pytest.skip("needs the redis-server binary (scripts/setup-env.sh installs it)")
    port = free_port()
    auth = ["--requirepass", password] if password else []
    server = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--dir", str(folder), *auth], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port, password=password)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield port
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)
