"""Talking to the running services: Redis over its protocol, the web app over HTTP.

Every probe is bounded: a Redis client never retries by itself (the callers' loops have
deadlines) and reads every reply with a cap on its size and a deadline on the whole reply
(grader/grading/redisclient.py), and a page is read with a cap on its size and a deadline on the
whole answer, headers included, so a server that hangs, drips or answers gigabytes cannot
stall or exhaust the grader.
"""
from __future__ import annotations

import codecs
import contextvars
import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis
import requests
import requests.adapters
import urllib3.connection
import urllib3.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

# the sockets listening in a container, read by the stack; re-exported for the checks
from grader.docker.listeners import DOCKER_DNS, Listener, listening_problem, parse_listeners  # noqa: F401
from grader.grading.redisclient import HINT as BAD_REPLY_HINT
from grader.grading.redisclient import (
    MAX_REPLY_BYTES,
    BadReply,
    BoundedParser,
    NotRedisProtocol,
    ReplyTooLarge,
    ReplyTooSlow,
)

# re-exported: the checks catch these
__all__ = ["BAD_REPLY_HINT", "MAX_REPLY_BYTES", "BadReply", "NotRedisProtocol", "ReplyTooLarge", "ReplyTooSlow"]

MAX_BODY_BYTES = 1024 * 1024
_READ_CHUNK = 64 * 1024


def redis_client(host: str, port: int, *, password: str | None = None, timeout: float = 5) -> redis.Redis:
    """A client that fails at once instead of retrying: redis-py's own retries (with backoff,
    also on a refused password) would add seconds to every failed call. Each reply is at most
    MAX_REPLY_BYTES and complete within ``timeout`` (else a BadReply)."""
    pool = redis.ConnectionPool(host=host, port=port, password=password, socket_timeout=timeout,
                                socket_connect_timeout=timeout, decode_responses=False,
                                retry=Retry(NoBackoff(), 0), protocol=2, parser_class=BoundedParser)
    client = redis.Redis(connection_pool=pool)
    client.auto_close_connection_pool = True  # close() disconnects, as when redis-py builds the pool itself
    return client


def wait_for_ping(client: redis.Redis, timeout: float) -> None:
    """PING until Redis answers (it may still be loading its data); re-raise the last error.
    A bad reply is not retried: a server that is still starting does not send one."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except (redis.AuthenticationError, BadReply):
            raise
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # a refused connection answers at once: poll often


@dataclass(frozen=True)
class Page:
    status: int
    text: str
    truncated: bool  # the body was longer than the cap; ``text`` holds its start
    content_type: str = ""  # as the server named it (e.g. "text/html; charset=utf-8")


class _Watchdog:
    """Shuts a request's sockets down at its deadline, so no read (of the headers either, which
    requests bounds only per read) can outlast it: a blocked read then sees the end at once."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        self._sockets.append(sock)
        if self.fired:
            self._fire()

    def _fire(self) -> None:
        self.fired = True
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed: nothing to stop

    def cancel(self) -> None:
        self._timer.cancel()


_WATCHDOG: contextvars.ContextVar[_Watchdog | None] = contextvars.ContextVar("grader_fetch_watchdog", default=None)


class _Watched:
    """A urllib3 connection whose socket the current fetch's watchdog may shut down."""

    sock: socket.socket

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        watchdog = _WATCHDOG.get()
        if watchdog is not None:
            watchdog.watch(self.sock)


class _WatchedHTTP(_Watched, urllib3.connection.HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, urllib3.connection.HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


class _WatchedAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter, with connections the fetch's watchdog can cut (urllib3's pool classes
    are its extension point for this)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def fetch(url: str, *, timeout: float = 5, max_bytes: int = MAX_BODY_BYTES) -> Page:
    """GET ``url``: at most ``max_bytes`` of the body, the whole answer within about ``timeout`` seconds.

    ``timeout`` bounds the connection, each read and the whole answer, headers and body (a
    deadline): an answer that arrives too slowly raises requests.ReadTimeout.
    """
    watchdog = _Watchdog(time.monotonic() + timeout)
    token = _WATCHDOG.set(watchdog)
    too_slow = f"the page was not complete after {timeout:g} s (it arrives too slowly)"
    try:
        with requests.Session() as session:
            session.mount("http://", _WatchedAdapter())
            session.mount("https://", _WatchedAdapter())
            page = _get(session, url, timeout, max_bytes, watchdog.deadline, too_slow)
    except requests.RequestException as exc:
        if watchdog.fired and not isinstance(exc, requests.Timeout):
            raise requests.ReadTimeout(too_slow) from exc
        raise
    finally:
        watchdog.cancel()
        _WATCHDOG.reset(token)
    if watchdog.fired:  # the body ended because the watchdog cut it, not because it was complete
        raise requests.ReadTimeout(too_slow)
    return page


def _get(session: requests.Session, url: str, timeout: float, max_bytes: int, deadline: float,
         too_slow: str) -> Page:
    with session.get(url, timeout=timeout, stream=True, allow_redirects=False) as response:
        body = bytearray()
        while len(body) <= max_bytes:
            if time.monotonic() > deadline:
                raise requests.ReadTimeout(too_slow)
            chunk = _read_some(response, min(_READ_CHUNK, max_bytes + 1 - len(body)))
            if not chunk:
                break
            body += chunk
        truncated = len(body) > max_bytes
        return Page(response.status_code, _decode(bytes(body[:max_bytes]), response.encoding), truncated,
                    response.headers.get("Content-Type", ""))


def _read_some(response: requests.Response, amount: int) -> bytes:
    """What has arrived of the body (at most ``amount`` bytes, one read), with requests' exceptions."""
    try:
        return response.raw.read1(amount, decode_content=True) or b""
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.ReadTimeout(str(exc)) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(str(exc)) from exc
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.SSLError, OSError) as exc:
        raise requests.ConnectionError(str(exc)) from exc


def _decode(body: bytes, encoding: str | None) -> str:
    """Text of a body in the charset the server named; UTF-8 when it named none or a bogus one."""
    try:
        codecs.lookup(encoding or "utf-8")
    except LookupError:
        encoding = "utf-8"
    return body.decode(encoding or "utf-8", errors="replace")


def wait_for_http(url: str, timeout: float) -> Page:
    """GET until the server accepts connections; re-raise the last connection error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fetch(url)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


_TAG = re.compile(r"<[^>]*>")
_NUMBER = re.compile(r"(?<![\w.])\d{1,15}(?![\w.]*\d)")


def numbers_in(text: str) -> list[int]:
    """Whole numbers shown in a page (markup stripped)."""
    return [int(match) for match in _NUMBER.findall(_TAG.sub(" ", text))]


def rising_counter(pages: list[list[int]]) -> tuple[int | None, list[int]]:
    """Find the position of a number that rises across pages; return (index, values) of the best one.

    Prefers a number rising by exactly 1 each time; otherwise any number that changes;
    otherwise the first number. Index None means no page showed a number.
    """
    if not pages or not all(pages):
        return None, []
    width = min(len(numbers) for numbers in pages)
    series = [[numbers[i] for numbers in pages] for i in range(width)]
    for index, values in enumerate(series):
        if all(b - a == 1 for a, b in zip(values, values[1:])):
            return index, values
    for index, values in enumerate(series):
        if len(set(values)) > 1:
            return index, values
    return (0, series[0]) if series else (None, [])
