"""Talking to the running services: Redis over its protocol, the web app over HTTP.

Every probe is bounded: a Redis client never retries by itself (the callers' loops have
deadlines) and reads every reply with a cap on its size and a deadline on the whole reply
(grader/boundedredis.py), and a page is read with a cap on its size and a deadline on the
whole answer, headers included, so a server that hangs, drips or answers gigabytes cannot
stall or exhaust the grader.
"""
from __future__ import annotations

import codecs
import contextvars
import ipaddress
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

from grader.boundedredis import HINT as BAD_REPLY_HINT
from grader.boundedredis import (
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
            time.sleep(0.25)


@dataclass(frozen=True)
class Page:
    status: int
    text: str
    truncated: bool  # the body was longer than the cap; ``text`` holds its start


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
        return Page(response.status_code, _decode(bytes(body[:max_bytes]), response.encoding), truncated)


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
            time.sleep(0.25)


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


# Listening sockets inside a container ----------------------------------------------------

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
DOCKER_DNS = "127.0.0.11"  # Docker's embedded DNS server listens in every container of a user network


@dataclass(frozen=True)
class Listener:
    address: str  # "0.0.0.0", "127.0.0.1", "::", "::1" ...
    port: int

    @property
    def everywhere(self) -> bool:
        """Bound to every interface, so other containers and the host can connect."""
        return self.address in ("0.0.0.0", "::")

    @property
    def loopback_only(self) -> bool:
        try:
            return ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


def _hex_address(text: str) -> str | None:
    """An address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) byte order."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    if len(raw) == 16:
        address = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
        return str(address.ipv4_mapped) if address.ipv4_mapped else str(address)
    return None


def parse_listeners(proc_net_tcp: str) -> list[Listener]:
    """The listening TCP sockets in the text of /proc/net/tcp and /proc/net/tcp6 (any order),
    without Docker's own DNS server."""
    found: list[Listener] = []
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != _LISTEN or ":" not in fields[1]:
            continue
        address_hex, _, port_hex = fields[1].rpartition(":")
        address = _hex_address(address_hex)
        try:
            port = int(port_hex, 16)
        except ValueError:
            continue
        if address is not None and address != DOCKER_DNS and Listener(address, port) not in found:
            found.append(Listener(address, port))
    return found


def listening_problem(listeners: list[Listener], port: int) -> str | None:
    """Why nothing outside the container can reach ``port``, judging by what listens; None when
    something listens on it on every interface, or when nothing listens yet (it may be starting)."""
    listeners = [item for item in listeners if item.address != DOCKER_DNS]
    if not listeners or any(item.port == port and item.everywhere for item in listeners):
        return None
    on_port = [item for item in listeners if item.port == port]
    if on_port:
        shown = ", ".join(map(str, on_port))
        return (f"the app listens on {shown} inside its container, which is reachable only from inside that "
                f"container, not from other containers or the host")
    shown = ", ".join(map(str, listeners))
    return f"the app listens on {shown} inside its container, not on port {port}"
