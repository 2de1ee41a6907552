"""A redis-py parser whose every reply is bounded in size and in time.

The Redis service under test may be a student's own program speaking RESP, so a reply is
untrusted input: redis-py's own parser would buffer a `$1000000000` bulk string or an endless
`+` line whole, recurse until RecursionError on `*1` nested a million times, and wait a full
socket timeout per read for a reply dripped a byte at a time. This parser plugs into redis-py
where it is meant to be extended (``parser_class`` of a connection) and keeps redis-py's RESP2
parsing; it only bounds what comes in:

- a reply (all its parts together) is at most MAX_REPLY_BYTES (give or take one socket read),
  and a larger bulk string is refused from its header, before a byte of it is read;
- a line (status, error, integer, header) is at most MAX_LINE_BYTES; numbers must be numbers;
- a reply has at most MAX_REPLY_PARTS parts (array items, nested ones included), nested at most
  MAX_DEPTH deep, so a megabyte of three-byte items cannot become a third of a million objects;
- a whole reply arrives within the connection's socket timeout (a deadline, not per read).

A violation raises a BadReply (a redis.ConnectionError: redis-py then drops the connection,
whose stream is out of step); its message says what the server sent, for the student.
"""
from __future__ import annotations

import re
import time
from io import SEEK_END
from typing import Any

import redis
from redis._parsers.resp2 import _RESP2Parser
from redis._parsers.socket import (
    SENTINEL,
    SERVER_CLOSED_CONNECTION_ERROR,
    SYM_CRLF,
    SocketBuffer,
)

MAX_REPLY_BYTES = 1024 * 1024
MAX_LINE_BYTES = 4096
MAX_REPLY_PARTS = 20_000
MAX_DEPTH = 8
DEFAULT_REPLY_TIMEOUT_S = 5.0
_NUMBER = re.compile(rb"-?[0-9]{1,19}")


HINT = (f"Run the real Redis server (`image: redis:alpine`, without `build:` or a `command:` that starts "
        f"something else): the grader speaks the Redis protocol to it and reads at most "
        f"{MAX_REPLY_BYTES // 2**20} MiB of any reply, within a few seconds.")


class BadReply(redis.ConnectionError):
    """Redis (or what answers in its place) sent a reply the grader does not read."""

    def __init__(self, message: str, found: str) -> None:
        super().__init__(message)
        self.found = found  # what arrived, in a few words, for a report's "found"


class ReplyTooLarge(BadReply):
    """A reply, a line or an array was larger than the grader reads."""


class ReplyTooSlow(BadReply, redis.TimeoutError):
    """A reply began but was not complete within the deadline."""


class NotRedisProtocol(BadReply):
    """The answer is not RESP: a header that is not a number."""


def _size(size: int) -> str:
    return f"{size // 1024 // 1024} MiB" if size % (1024 * 1024) == 0 else f"{size // 1024} KiB"


def _shown(data: bytes) -> str:
    return repr(data[:40]) + (" …" if len(data) > 40 else "")


class _Budget:
    """What one reply may still take: bytes, and time until its deadline."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.received = 0
        self.parts = 0
        self.depth = 0

    def took(self, size: int, read_size: int) -> None:
        self.received += size
        # one socket read may run past the end of the reply: allow it once
        if self.received > MAX_REPLY_BYTES + read_size:
            raise ReplyTooLarge(f"Redis answered with a reply larger than {_size(MAX_REPLY_BYTES)}; "
                                f"the grader reads at most {_size(MAX_REPLY_BYTES)} of a reply",
                                f"more than {self.received:,} bytes")

    def too_slow(self) -> ReplyTooSlow:
        return ReplyTooSlow(f"Redis began a reply but had not finished it after {self.seconds:g} s: "
                            f"it answers far too slowly",
                            f"{self.received:,} bytes in {self.seconds:g} s, and no end of the reply")


class BoundedSocketBuffer(SocketBuffer):
    """redis-py's socket buffer, with the limits of the reply being read (``budget``)."""

    budget: _Budget | None = None

    def _read_from_socket(self, length: int | None = None, timeout: Any = SENTINEL,
                          raise_on_timeout: bool | None = True) -> bool:
        budget = self.budget
        if budget is None:  # between replies (health checks): redis-py's own way
            return super()._read_from_socket(length, timeout, raise_on_timeout)
        buf, got = self._buffer, 0
        position = buf.tell()
        buf.seek(0, SEEK_END)
        try:
            while True:
                data = self._recv_before(budget, timeout)
                if not data:
                    raise redis.ConnectionError(SERVER_CLOSED_CONNECTION_ERROR)
                budget.took(len(data), self.socket_read_size)
                buf.write(data)
                got += len(data)
                if length is None or got >= length:
                    return True
        finally:
            buf.seek(position)
            self._sock.settimeout(self.socket_timeout)

    def _recv_before(self, budget: _Budget, timeout: Any) -> bytes:
        wait = budget.deadline - time.monotonic()
        if isinstance(timeout, (int, float)):
            wait = min(wait, timeout)
        if wait <= 0:
            raise budget.too_slow()
        self._sock.settimeout(wait)
        try:
            return self._sock.recv(self.socket_read_size)
        except TimeoutError:
            if budget.received:  # it began: the deadline of the reply, not a server still starting
                raise budget.too_slow() from None
            raise redis.TimeoutError(f"Redis did not answer within {budget.seconds:g} s") from None

    def readline(self, timeout: Any = SENTINEL) -> bytes:
        data = self._buffer.readline()
        while not data.endswith(SYM_CRLF):
            if len(data) > MAX_LINE_BYTES:
                break
            self._read_from_socket(timeout=timeout)
            data += self._buffer.readline()
        if len(data) > MAX_LINE_BYTES + 2:
            raise ReplyTooLarge(f"Redis answered with a line longer than {_size(MAX_LINE_BYTES)}; "
                                f"real Redis sends long values as bulk strings",
                                f"a line of more than {_size(MAX_LINE_BYTES)}, starting {_shown(data)}")
        line = data[:-2]
        if self.budget is not None:
            self.budget.parts += 1
            if self.budget.parts > MAX_REPLY_PARTS + 1:  # + 1: the header of the outermost array
                raise _too_many_parts()
        _check_header(line)
        return line

    def read(self, length: int, timeout: Any = SENTINEL) -> bytes:
        want = length + 2  # and the CRLF after it
        data = self._buffer.read(want)
        if len(data) < want:
            self._read_from_socket(length=want - len(data), timeout=timeout)
            data += self._buffer.read(want - len(data))
        return data[:-2]


def _too_many_parts() -> ReplyTooLarge:
    return ReplyTooLarge(f"Redis answered with a reply of more than {MAX_REPLY_PARTS:,} parts; "
                         f"the grader reads at most {MAX_REPLY_PARTS:,}", f"more than {MAX_REPLY_PARTS:,} parts")


def _check_header(line: bytes) -> None:
    """Refuse, from its header alone, what would be too large to read; and headers that are no numbers."""
    kind, rest = line[:1], line[1:]
    if kind not in (b"$", b"*", b":"):
        return
    if not _NUMBER.fullmatch(rest) or (kind != b":" and int(rest) < -1):
        raise NotRedisProtocol("Redis answered something that is not the Redis protocol", _shown(line))
    if kind == b"$" and int(rest) > MAX_REPLY_BYTES:
        raise ReplyTooLarge(f"Redis answered with a reply larger than {_size(MAX_REPLY_BYTES)} "
                            f"(a bulk string of {int(rest):,} bytes); the grader reads at most "
                            f"{_size(MAX_REPLY_BYTES)} of a reply", f"a bulk string of {int(rest):,} bytes")
    if kind == b"*" and int(rest) > MAX_REPLY_PARTS:
        raise _too_many_parts()


class BoundedParser(_RESP2Parser):
    """redis-py's RESP2 parser over a BoundedSocketBuffer, one budget per reply."""

    def on_connect(self, connection: Any) -> None:
        super().on_connect(connection)
        self._buffer = BoundedSocketBuffer(self._sock, self.socket_read_size, connection.socket_timeout)
        self._reply_timeout = connection.socket_timeout or DEFAULT_REPLY_TIMEOUT_S

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        buffer = self._buffer
        if buffer is None:
            return super().read_response(*args, **kwargs)
        buffer.budget = _Budget(self._reply_timeout)
        try:
            return super().read_response(*args, **kwargs)
        finally:
            buffer.budget = None

    def _read_response(self, *args: Any, **kwargs: Any) -> Any:
        budget = self._buffer.budget if self._buffer is not None else None
        if budget is None:
            return super()._read_response(*args, **kwargs)
        budget.depth += 1
        try:
            if budget.depth > MAX_DEPTH:
                raise ReplyTooLarge(f"Redis answered with arrays nested more than {MAX_DEPTH} deep; "
                                    f"no Redis reply the grader asks for nests more than 2",
                                    f"arrays nested more than {MAX_DEPTH} deep")
            return super()._read_response(*args, **kwargs)
        finally:
            budget.depth -= 1
