"""`grader check --live`: grade services the student already runs, over real Redis and HTTP."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import REDIS_SERVER, SAMPLES, free_port, redis_server

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary (scripts/setup-env.sh)")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as port:
        client = redis.Redis(port=port)
        client.set("student_name", "Grace Hopper")
        client.close()
        yield f"redis://127.0.0.1:{port}"


def serve(app: Flask) -> tuple[str, callable]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_port}", server.shutdown


def counter_app(redis_url: str, in_memory: bool) -> Flask:
    app = Flask(__name__)
    store = redis.Redis.from_url(redis_url)
    hits = {"n": 0}

    @app.route("/")
    def index() -> str:
        if in_memory:
            hits["n"] += 1
            return f"Visited {hits['n']} times"
        return f"This page has been visited {store.incr('page_hits')} times."

    return app


def grade_live(redis_url: str, web_url: str) -> dict:
    process = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(SAMPLES / "perfect"), "--live", "--redis-url", redis_url,
         "--web-url", web_url, "--json", "-", "--no-html"],
        capture_output=True, text=True, timeout=120,
    )
    assert "Traceback" not in process.stderr, process.stderr
    return json.loads(process.stdout)


def statuses(result: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in result["checks"]}


def test_live_stack_with_counter_in_redis(redis_url: str) -> None:
    web_url, stop = serve(counter_app(redis_url, in_memory=False))
    try:
        result = grade_live(redis_url, web_url)
    finally:
        stop()
    got = statuses(result)
    assert result["mode"] == "live"
    assert got["redis-ping"] == got["student-name"] == got["flask-counter"] == "passed", result
    assert got["stack-up"] == got["persistence"] == "skipped"
    assert "Grace Hopper" in next(c for c in result["checks"] if c["id"] == "student-name")["message"]


def test_live_counter_kept_in_memory_fails(redis_url: str) -> None:
    web_url, stop = serve(counter_app(redis_url, in_memory=True))
    try:
        result = grade_live(redis_url, web_url)
    finally:
        stop()
    counter = next(c for c in result["checks"] if c["id"] == "flask-counter")
    assert counter["status"] == "failed"
    assert "not stored in Redis" in counter["message"] or "not in Redis" in counter["message"]


def test_live_with_nothing_running_fails_cleanly() -> None:
    result = grade_live(f"redis://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}")
    got = statuses(result)
    assert got["redis-ping"] == "failed" and got["flask-counter"] == "failed"
