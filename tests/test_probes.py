"""Probes: reading numbers from pages, and fetching pages from a real local HTTP server."""
from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from grader.grading import probes
from grader.grading.probes import (
    MAX_BODY_BYTES,
    fetch,
    numbers_in,
    rising_counter,
    wait_for_http,
)

# numbers_in ------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("This page has been visited 3 times.", [3]),
    ("Hello World! I have been seen 17 times.\n", [17]),
    ("<h1>Visits: 42</h1>", [42]),
    ("<html><head><title>Counter</title></head><body><h1>Hits: 42</h1>"
     "<footer>&copy; 2024 My Flask App</footer></body></html>", [42, 2024]),
    ('<p style="width: 100px" data-id="7">9</p>', [9]),  # numbers inside tags are markup, not content
    ("version 1.2.3, pi is 3.14, count 5", [5]),  # dotted numbers are not counts
    ("abc123 h2o count=8", [8]),  # digits glued to words are not counts
    ("12345678901234567890 and 6", [6]),  # absurdly long numbers are ignored
    ('{"hits": 12}', [12]),
    ("no digits here", []),
    ("", []),
])
def test_numbers_in(text: str, expected: list[int]) -> None:
    assert numbers_in(text) == expected


def test_numbers_in_a_realistic_flask_page() -> None:
    page = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Redis counter</title>
<style>h1 { font-size: 24px; margin: 0 0 8px 0 }</style></head>
<body><h1>Welcome</h1><p>This page has been visited <b>7</b> times.</p>
<footer>Made in 2025 for Chapter 3</footer></body></html>"""
    assert numbers_in(page) == [24, 0, 0, 8, 0, 7, 2025, 3]


# rising_counter --------------------------------------------------------------------


def test_rising_counter_finds_the_count_among_static_numbers() -> None:
    pages = [numbers_in(f"<footer>2024</footer> visited {n} times, chapter 3") for n in (5, 6, 7)]
    assert rising_counter(pages) == (1, [5, 6, 7])


def test_rising_counter_prefers_exact_steps_over_other_changes() -> None:
    pages = [[10, 1], [20, 2], [30, 3]]
    assert rising_counter(pages) == (1, [1, 2, 3])


def test_rising_counter_reports_a_changing_number_that_does_not_step_by_one() -> None:
    assert rising_counter([[2024, 2], [2024, 4], [2024, 6]]) == (1, [2, 4, 6])


def test_rising_counter_constant_numbers() -> None:
    assert rising_counter([[2024, 1], [2024, 1], [2024, 1]]) == (0, [2024, 2024, 2024])


def test_rising_counter_across_a_digit_boundary() -> None:
    pages = [numbers_in(f"visited {n} times") for n in (9, 10, 11)]
    assert rising_counter(pages) == (0, [9, 10, 11])


@pytest.mark.parametrize("pages", [[], [[]], [[1], [], [3]], [[], []]])
def test_rising_counter_without_numbers(pages: list[list[int]]) -> None:
    assert rising_counter(pages) == (None, [])


def test_rising_counter_uses_the_common_width() -> None:
    assert rising_counter([[1, 99], [2], [3, 7]]) == (0, [1, 2, 3])


def test_rising_counter_single_page() -> None:
    assert rising_counter([[4, 5]]) == (0, [4])


# A real HTTP server -----------------------------------------------------------------


@contextmanager
def serve(handler: Callable[[BaseHTTPRequestHandler], None]) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            try:
                handler(self)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def reply(status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> Callable:
    def handler(request: BaseHTTPRequestHandler) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)
    return handler


def test_fetch_small_page() -> None:
    with serve(reply(200, "Visited 3 times — ünïcode".encode())) as url:
        page = fetch(url)
    assert page.status == 200
    assert page.text == "Visited 3 times — ünïcode"
    assert page.truncated is False


def test_fetch_reports_error_statuses_and_does_not_follow_redirects() -> None:
    with serve(reply(500, b"Internal Server Error")) as url:
        page = fetch(url)
    assert (page.status, page.text) == (500, "Internal Server Error")

    def redirect(request: BaseHTTPRequestHandler) -> None:
        request.send_response(302)
        request.send_header("Location", "http://example.invalid/")
        request.send_header("Content-Length", "0")
        request.end_headers()
    with serve(redirect) as url:
        assert fetch(url).status == 302


def test_fetch_body_of_exactly_the_limit_is_read_whole() -> None:
    body = b"x" * MAX_BODY_BYTES
    with serve(reply(200, body, "text/plain")) as url:
        page = fetch(url)
        one_more = fetch(url, max_bytes=MAX_BODY_BYTES - 1)
    assert len(page.text) == MAX_BODY_BYTES
    assert page.truncated is False  # complete: nothing was cut off
    assert len(one_more.text) == MAX_BODY_BYTES - 1 and one_more.truncated is True


def test_fetch_max_bytes_and_charset() -> None:
    body = "Zähler: 12 — ".encode("latin-1", errors="replace") * 10
    with serve(reply(200, body, "text/plain; charset=latin-1")) as url:
        page = fetch(url, max_bytes=20)
    assert page.truncated is True
    assert page.text == body[:20].decode("latin-1")
    with serve(reply(200, b"visited 4 times", "text/plain; charset=no-such-charset")) as url:
        assert fetch(url).text == "visited 4 times"


def test_fetch_reads_at_most_max_body_bytes_of_a_huge_body() -> None:
    total = 50 * 1024 * 1024
    sent = {"bytes": 0}

    def huge(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", str(total))
        request.end_headers()
        chunk = b"7" * 65536
        while sent["bytes"] < total:
            request.wfile.write(chunk)
            sent["bytes"] += len(chunk)

    tracemalloc.start()
    started = time.monotonic()
    try:
        with serve(huge) as url:
            page = fetch(url, timeout=5)
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.status == 200
    assert page.truncated is True
    assert len(page.text) == MAX_BODY_BYTES
    assert set(page.text) == {"7"}
    assert elapsed < 5
    assert peak < 10 * 1024 * 1024
    assert sent["bytes"] < total  # the client hung up instead of draining 50 MB


def test_fetch_huge_chunked_body_without_length() -> None:
    def endless(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        chunk = b"a" * 32768
        for _ in range(2000):  # 64 MB if read to the end
            request.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        request.wfile.write(b"0\r\n\r\n")

    started = time.monotonic()
    with serve(endless) as url:
        page = fetch(url, timeout=5)
    assert page.truncated is True and len(page.text) == MAX_BODY_BYTES
    assert time.monotonic() - started < 5


def test_fetch_is_bounded_in_time_against_a_slow_drip() -> None:
    drip_for = 4.0

    def drip(request: BaseHTTPRequestHandler) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", "100000")
        request.end_headers()
        until = time.monotonic() + drip_for
        while time.monotonic() < until:
            request.wfile.write(b"1")
            request.wfile.flush()
            time.sleep(0.2)
        request.close_connection = True

    started = time.monotonic()
    with serve(drip) as url:
        with pytest.raises(requests.Timeout):
            fetch(url, timeout=1)
        elapsed = time.monotonic() - started
    assert elapsed < 2.5


def drip_raw(data: bytes, every: float) -> Callable:
    """A handler that writes ``data`` itself (status line and headers too), a byte every ``every`` s."""
    def handler(request: BaseHTTPRequestHandler) -> None:
        for index in range(len(data)):
            request.wfile.write(data[index:index + 1])
            request.wfile.flush()
            time.sleep(every)
        request.close_connection = True
    return handler


@pytest.mark.parametrize("data", [
    b"HTTP/1.1 200 OK\r\nX-Drip: " + b"a" * 200,  # headers that never end, each byte in time
    b"HTTP/1.1 200 " + b"O" * 200,                # a status line that never ends
], ids=["headers", "status-line"])
def test_fetch_is_bounded_in_time_against_dripped_headers(data: bytes) -> None:
    """requests bounds the wait for headers only per read: each byte in time, they could take hours."""
    with serve(drip_raw(data, 0.1)) as url:
        started = time.monotonic()
        with pytest.raises(requests.Timeout, match="not complete after 1 s"):
            fetch(url, timeout=1)
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2


def test_a_body_cut_at_the_deadline_is_a_timeout_not_a_short_page() -> None:
    """Without a length, the end of the connection ends the body: the deadline's cut must not pass for it."""
    def stall(request: BaseHTTPRequestHandler) -> None:
        request.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nvisited 5 ")
        request.wfile.flush()
        time.sleep(3)
        request.wfile.write(b"times")
        request.close_connection = True

    with serve(stall) as url:
        started = time.monotonic()
        with pytest.raises(requests.Timeout):
            fetch(url, timeout=1)
    assert time.monotonic() - started < 2


def test_fetch_leaves_no_watchdog_thread_behind() -> None:
    import threading
    before = threading.active_count()
    with serve(reply(200, b"visited 1 times")) as url:
        for _ in range(5):
            assert fetch(url, timeout=5).text == "visited 1 times"
        time.sleep(0.2)
        assert threading.active_count() <= before + 2  # the server's own threads at most


def test_fetch_connection_refused_raises_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(requests.ConnectionError):
            fetch(f"http://127.0.0.1:{port}/", timeout=2)


def test_wait_for_http_retries_until_the_server_appears() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountHandler, bind_and_activate=False)
    server.allow_reuse_address = True
    server.server_bind()  # holds the port, but refuses connections until it listens
    url = f"http://127.0.0.1:{server.server_address[1]}/"

    def start_later() -> None:
        time.sleep(1.0)
        server.server_activate()
        server.serve_forever(poll_interval=0.05)

    thread = threading.Thread(target=start_later, daemon=True)
    started = time.monotonic()
    thread.start()
    try:
        page = wait_for_http(url, timeout=10)
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert page.status == 200 and page.text == "visited 1 times"
    assert 0.9 <= elapsed < 5


class _CountHandler(BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        body = f"visited {type(self).hits} times".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_wait_for_http_gives_up_after_its_timeout() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(requests.ConnectionError):
            wait_for_http(f"http://127.0.0.1:{port}/", timeout=1.0)
        elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 4


def test_counter_end_to_end_over_http() -> None:
    _CountHandler.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        pages = [numbers_in(fetch(url).text) for _ in range(3)]
    finally:
        server.shutdown()
        server.server_close()
    assert rising_counter(pages) == (0, [1, 2, 3])


def test_redis_client_settings() -> None:
    client = probes.redis_client("127.0.0.1", 6390, password="pw", timeout=2)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["password"]) == ("127.0.0.1", 6390, "pw")
    assert kwargs["socket_timeout"] == 2 and kwargs["socket_connect_timeout"] == 2


def test_wait_for_ping_gives_up_on_a_closed_port() -> None:
    import redis as redis_lib
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        client = probes.redis_client("127.0.0.1", sock.getsockname()[1], timeout=1)
        started = time.monotonic()
        with pytest.raises(redis_lib.ConnectionError):
            probes.wait_for_ping(client, timeout=0.6)
    # the client must not add redis-py's own retries with backoff (seconds) to each attempt
    assert 0.6 <= time.monotonic() - started < 3
