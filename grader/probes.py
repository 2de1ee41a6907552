"""Talking to the running services: Redis over its protocol, the web app over HTTP."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

import redis
import requests

MAX_BODY_BYTES = 64 * 1024


def redis_client(host: str, port: int, *, password: str | None = None, timeout: float = 5) -> redis.Redis:
    return redis.Redis(host=host, port=port, password=password, socket_timeout=timeout,
                       socket_connect_timeout=timeout, decode_responses=False, retry_on_timeout=False)


def wait_for_ping(client: redis.Redis, timeout: float) -> None:
    """PING until Redis answers (it may still be loading its data); re-raise the last error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.AuthenticationError:
            raise
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.25)


@dataclass(frozen=True)
class Page:
    status: int
    text: str
    truncated: bool


def fetch(url: str, *, timeout: float = 5) -> Page:
    """GET ``url`` reading at most MAX_BODY_BYTES of the body (a huge page cannot exhaust memory)."""
    with requests.get(url, timeout=timeout, stream=True, allow_redirects=False) as response:
        body = b""
        truncated = False
        for chunk in response.iter_content(chunk_size=8192):
            body += chunk
            if len(body) >= MAX_BODY_BYTES:
                body, truncated = body[:MAX_BODY_BYTES], True
                break
        return Page(response.status_code, body.decode(response.encoding or "utf-8", errors="replace"), truncated)


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
