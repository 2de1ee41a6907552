"""Redis replies are bounded in size and time: fake RESP servers on loopback, and a real redis-server.

A fake server answers redis-py's connection handshake (CLIENT SETINFO) with +OK and every other
command with its hostile reply. The client must fail fast with the specific error, having held
little memory (tracemalloc peak), and never with a RecursionError or a ValueError.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
import redis

from grader.grading import probes
from grader.grading.redisclient import MAX_LINE_BYTES, MAX_REPLY_BYTES, MAX_REPLY_PARTS
from tests.conftest import REPO, SAMPLES, redis_server
from tests.test_probes import _CountHandler

Reply = Callable[[socket.socket], None]


@contextmanager
def fake_redis(reply: Reply) -> Iterator[dict]:
    """A RESP server on a loopback port that answers every command but CLIENT with ``reply``;
    yields {"port": ..., "sent": bytes sent by the replies so far}."""
    state = {"sent": 0, "stop": threading.Event()}
    listener = socket.create_server(("127.0.0.1", 0))
    state["port"] = listener.getsockname()[1]
    listener.settimeout(0.2)

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                while not state["stop"].is_set():
                    request = conn.recv(65536)
                    if not request:
                        return
                    if b"CLIENT" in request.upper():
                        conn.sendall(b"+OK\r\n")
                        continue
                    reply(_Counting(conn, state))
            except OSError:
                pass  # the client hung up: what it should do

    def accept() -> None:
        while not state["stop"].is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state["stop"].set()
        thread.join(5)
        listener.close()


class _Counting:
    """A socket that counts what the fake server sent, and stops when the test is over."""

    def __init__(self, conn: socket.socket, state: dict) -> None:
        self.conn, self.state = conn, state

    def sendall(self, data: bytes) -> None:
        if self.state["stop"].is_set():
            raise OSError("test over")
        self.conn.sendall(data)
        self.state["sent"] += len(data)


def endless(head: bytes, chunk: bytes) -> Reply:
    def reply(conn: socket.socket) -> None:
        conn.sendall(head)
        while True:
            conn.sendall(chunk)
    return reply


def once(data: bytes) -> Reply:
    return lambda conn: conn.sendall(data)


def drip(data: bytes, every: float) -> Reply:
    def reply(conn: socket.socket) -> None:
        for index in range(len(data)):
            conn.sendall(data[index:index + 1])
            time.sleep(every)
    return reply


def measured(call: Callable[[], object]) -> tuple[BaseException | None, float, int]:
    """(the exception ``call`` raised, seconds it took, peak traced memory in bytes)."""
    tracemalloc.start()
    started = time.monotonic()
    error = None
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 - the test inspects it
        error = exc
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return error, elapsed, peak


def ping_against(reply: Reply, timeout: float = 3) -> tuple[BaseException | None, float, int, int]:
    with fake_redis(reply) as server:
        client = probes.redis_client("127.0.0.1", server["port"], timeout=timeout)
        try:
            error, elapsed, peak = measured(client.ping)
        finally:
            client.close()
        return error, elapsed, peak, server["sent"]


MiB = 1024 * 1024


def test_a_gigabyte_bulk_header_is_refused_before_reading_it() -> None:
    error, elapsed, peak, sent = ping_against(endless(b"$1000000000\r\n", b"x" * 65536))
    assert isinstance(error, probes.ReplyTooLarge), repr(error)
    assert "Redis answered with a reply larger than 1 MiB (a bulk string of 1,000,000,000 bytes)" in str(error)
    assert error.found == "a bulk string of 1,000,000,000 bytes"
    assert elapsed < 2
    assert peak < 4 * MiB
    assert sent < 200 * MiB  # the client hung up, it did not drain the gigabyte


def test_an_endless_status_line_is_cut_at_the_line_limit() -> None:
    error, elapsed, peak, _ = ping_against(endless(b"+", b"A" * 65536))
    assert isinstance(error, probes.ReplyTooLarge), repr(error)
    assert f"a line longer than {MAX_LINE_BYTES // 1024} KiB" in str(error)
    assert error.found.startswith("a line of more than 4 KiB, starting b'+AAAA")
    assert elapsed < 2 and peak < 4 * MiB


def test_an_endless_error_line_is_cut_too() -> None:
    error, _, peak, _ = ping_against(endless(b"-ERR ", b"e" * 65536))
    assert isinstance(error, probes.ReplyTooLarge) and peak < 4 * MiB


def test_a_reply_dripped_a_byte_at_a_time_meets_its_deadline() -> None:
    """Each byte comes within the per-read timeout, so only a deadline on the whole reply stops it."""
    error, elapsed, peak, sent = ping_against(drip(b"+PONG and more and more\r\n", 0.5), timeout=2)
    assert isinstance(error, probes.ReplyTooSlow), repr(error)
    assert isinstance(error, redis.TimeoutError)  # callers that catch timeouts still catch it
    assert "had not finished it after 2 s" in str(error)
    assert 1.9 <= elapsed < 3
    assert 2 <= sent <= 6 and peak < 2 * MiB


def test_a_dripped_bulk_string_meets_its_deadline() -> None:
    error, elapsed, _, _ = ping_against(drip(b"$20\r\n" + b"y" * 20 + b"\r\n", 0.3), timeout=1.5)
    assert isinstance(error, probes.ReplyTooSlow), repr(error)
    assert elapsed < 2.5


def test_many_bulk_strings_together_exceed_the_reply_limit() -> None:
    part = b"$1000000\r\n" + b"z" * 1_000_000 + b"\r\n"  # each under the limit, five of them over it
    error, elapsed, peak, _ = ping_against(once(b"*5\r\n" + part * 5))
    assert isinstance(error, probes.ReplyTooLarge), repr(error)
    assert "a reply larger than 1 MiB" in str(error)
    assert peak < 6 * MiB and elapsed < 2


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    error, elapsed, _, _ = ping_against(once(b"*1\r\n" * 100_000 + b":1\r\n"))
    assert isinstance(error, probes.ReplyTooLarge), repr(error)
    assert "nested more than 8 deep" in str(error)
    assert elapsed < 2


def test_a_huge_array_header_is_refused_at_once() -> None:
    error, elapsed, _, _ = ping_against(endless(b"*2000000000\r\n", b":1\r\n" * 10_000))
    assert isinstance(error, probes.ReplyTooLarge), repr(error)
    assert f"more than {MAX_REPLY_PARTS:,} parts" in str(error)
    assert elapsed < 2


def test_many_tiny_parts_in_nested_arrays_are_refused() -> None:
    nested = b"*2\r\n" + (b"*10000\r\n" + b":1\r\n" * 10_000) * 2  # 20,003 parts, under 1 MiB
    error, _, peak, _ = ping_against(once(nested))
    assert isinstance(error, probes.ReplyTooLarge), repr(error)
    assert "parts" in str(error) and peak < 8 * MiB


@pytest.mark.parametrize("garbage", [b":abc\r\n", b"$-5\r\n", b"*x\r\n", b":" + b"9" * 4000 + b"\r\n",
                                     b"$1e3\r\n"])
def test_headers_that_are_not_numbers_are_not_redis(garbage: bytes) -> None:
    error, _, _, _ = ping_against(once(garbage))
    assert isinstance(error, probes.NotRedisProtocol), repr(error)
    assert "not the Redis protocol" in str(error)


def test_http_instead_of_redis() -> None:
    error, _, _, _ = ping_against(once(b"HTTP/1.1 400 Bad Request\r\n\r\n"))
    assert isinstance(error, redis.RedisError) and not isinstance(error, probes.BadReply)  # redis-py's own error


def test_a_silent_server_is_a_plain_timeout_and_wait_for_ping_retries_it() -> None:
    """Not a bad reply: a server that has not answered at all may still be starting."""
    with fake_redis(lambda conn: None) as server:
        client = probes.redis_client("127.0.0.1", server["port"], timeout=0.5)
        started = time.monotonic()
        with pytest.raises(redis.TimeoutError) as info:
            probes.wait_for_ping(client, timeout=1.5)
        client.close()
    assert not isinstance(info.value, probes.BadReply)
    assert 1.5 <= time.monotonic() - started < 4


def test_wait_for_ping_does_not_retry_a_bad_reply() -> None:
    with fake_redis(endless(b"$1000000000\r\n", b"x" * 65536)) as server:
        client = probes.redis_client("127.0.0.1", server["port"], timeout=3)
        started = time.monotonic()
        with pytest.raises(probes.ReplyTooLarge):
            probes.wait_for_ping(client, timeout=30)
        client.close()
    assert time.monotonic() - started < 2


def test_the_handshake_is_bounded_too() -> None:
    """AUTH is a reply like any other: a fake that floods it fails the same way."""
    with fake_redis(endless(b"+", b"A" * 65536)) as server:
        client = probes.redis_client("127.0.0.1", server["port"], password="pw", timeout=3)
        error, elapsed, peak = measured(client.ping)
        client.close()
    assert isinstance(error, probes.ReplyTooLarge), repr(error)
    assert elapsed < 2 and peak < 4 * MiB


# A real Redis --------------------------------------------------------------------------------


def test_a_real_redis_works_up_to_the_limit(tmp_path: Path) -> None:
    with redis_server(tmp_path) as port:
        client = probes.redis_client("127.0.0.1", port, timeout=5)
        try:
            probes.wait_for_ping(client, timeout=5)
            assert client.set("name", "Jonas Becker") and client.get("name") == b"Jonas Becker"
            assert client.type("name") == b"string" and client.type("missing") == b"none"
            client.set("exactly", b"e" * MAX_REPLY_BYTES)
            assert len(client.get("exactly")) == MAX_REPLY_BYTES
            client.mset({f"key:{i}": i for i in range(3000)})
            assert len(list(client.scan_iter(count=100))) == 3002
            client.set("over", b"o" * (MAX_REPLY_BYTES + 1))
            with pytest.raises(probes.ReplyTooLarge):
                client.get("over")
            assert client.get("name") == b"Jonas Becker"  # a fresh connection after the dropped one
            assert client.delete("over", "exactly") == 2
            with pytest.raises(redis.ResponseError):
                client.execute_command("NO-SUCH-COMMAND")
        finally:
            client.close()


def test_a_real_redis_with_a_password(tmp_path: Path) -> None:
    with redis_server(tmp_path, password="s3cret") as port:
        good = probes.redis_client("127.0.0.1", port, password="s3cret", timeout=5)
        bad = probes.redis_client("127.0.0.1", port, timeout=5)
        try:
            assert good.ping() is True
            with pytest.raises(redis.AuthenticationError):
                probes.wait_for_ping(bad, timeout=5)
        finally:
            good.close()
            bad.close()


def test_close_disconnects() -> None:
    with fake_redis(once(b"+PONG\r\n")) as server:
        client = probes.redis_client("127.0.0.1", server["port"], timeout=3)
        assert client.ping() is True
        connection = client.connection_pool.get_connection()
        client.connection_pool.release(connection)
        client.close()
        assert connection._sock is None


# The checks, in live mode against a fake Redis -------------------------------------------------


class CountingPage(_CountHandler):
    """A count that rises, kept in memory (its own, not test_probes'): flask-counter then looks for it in Redis."""

    hits = 0


def grade_live_against(reply: Reply) -> tuple[dict[str, dict], float]:
    web = ThreadingHTTPServer(("127.0.0.1", 0), CountingPage)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with fake_redis(reply) as server:
            started = time.monotonic()
            process = subprocess.run(
                [sys.executable, "-m", "grader.cli", "check", str(SAMPLES / "perfect"), "--live",
                 "--redis-url", f"redis://127.0.0.1:{server['port']}", "--web-url",
                 f"http://127.0.0.1:{web.server_address[1]}", "--json", "-", "--no-html"],
                capture_output=True, text=True, timeout=300, cwd=REPO, check=False,
            )
            elapsed = time.monotonic() - started
    finally:
        web.shutdown()
        web.server_close()
    assert "Traceback" not in process.stderr, process.stderr[-3000:]
    checks = {check["id"]: check for check in json.loads(process.stdout)["checks"]}
    assert not [c for c in checks.values() if c["status"] == "error"], checks
    return checks, elapsed


def test_the_checks_fail_a_huge_reply_with_a_clear_message() -> None:
    checks, _ = grade_live_against(endless(b"$1000000000\r\n", b"x" * 65536))
    for check_id in ("redis-ping", "student-name", "flask-counter"):
        check = checks[check_id]
        assert check["status"] == "failed", check
        assert check["message"].startswith("Redis answered with a reply larger than 1 MiB"), check
        assert check["found"] == "a bulk string of 1,000,000,000 bytes"
        assert "redis:alpine" in check["hint"]


def test_the_checks_fail_a_dripped_reply_in_bounded_time() -> None:
    checks, elapsed = grade_live_against(drip(b"+PONG" + b"!" * 100 + b"\r\n", 0.5))
    for check_id in ("redis-ping", "student-name", "flask-counter"):
        check = checks[check_id]
        assert check["status"] == "failed", check
        assert "it answers far too slowly" in check["message"], check
    assert elapsed < 60  # three checks, each stopped by its 5 s reply deadline
