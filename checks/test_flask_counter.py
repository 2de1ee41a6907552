from __future__ import annotations

import time
from typing import TYPE_CHECKING

from grader.checking import Outcome, check, fail

if TYPE_CHECKING:
    from grader.checking import GradingContext, probes

# redis, requests and the probes are imported inside the check: a static grading loads this
# module only to report the check skipped, and must not pay for the Redis and HTTP clients.
REQUESTS = 3
REQUEST_TIMEOUT_S = 5
LOOK_INSIDE_AFTER_S = 2.0  # while the app refuses connections, look at what listens in its container
HOST_HINT = "Connect with `redis.Redis(host='redis', port=6379)`: inside Compose, `localhost` is the web container itself."
LISTEN_HINT = ("Let the app listen on every interface, on the port the Compose file publishes: "
               "`app.run(host='0.0.0.0', port=5000)` (or `flask run --host=0.0.0.0 --port=5000`).")


def _get(url: str, service: str | None, grading: GradingContext, label: str, first: bool = False) -> probes.Page:
    import requests
    from grader.checking import probes
    try:
        page = _first_page(url, service, grading) if first else probes.fetch(url, timeout=REQUEST_TIMEOUT_S)
        grading.evidence.page(label, url, page)  # the answer as it came, for the report's screenshot
    except requests.Timeout:
        fail(f"GET / on {_target(grading, url, service)} did not answer within {REQUEST_TIMEOUT_S} s.",
             expected="a page", found="no answer (timeout)",
             hint="Make sure the route returns quickly and does not wait for anything that never comes.")
    except requests.RequestException as exc:
        fail(f"The web app ({_target(grading, url, service)}) could not be reached.", expected="an HTTP answer",
             found=f"{type(exc).__name__}: {exc}", hint=LISTEN_HINT)
    if page.status != 200:
        logs = grading.stack.logs(service) if grading.stack and service else None
        hint = HOST_HINT if logs and ("localhost" in logs or "Connection refused" in logs) else \
            "Read the web service's logs (`docker compose logs web`) for the error behind it."
        fail(f"GET / answered HTTP {page.status}.", expected="HTTP 200 with the visit count",
             found=f"HTTP {page.status}: {page.text[:200]}", hint=hint, details=logs)
    if grading.stack is not None and service:
        grading.stack.note_answered(service)  # it is up: stack-up need not wait for it
    if page.truncated:
        limit = _size(probes.MAX_BODY_BYTES)
        fail(f"GET / answered a page larger than {limit}; the grader reads at most {limit} of a page.",
             expected=f"a short page with the visit count (under {limit})",
             found=f"more than {limit}, starting: {page.text[:120]} …",
             hint="Return just the count, e.g. `return f\"This page has been visited {hits} times.\"`.")
    return page


def _target(grading: GradingContext, url: str, service: str | None) -> str:
    """Where the page was asked for, as the student knows it: their own URL in live mode; the
    service (not the grader's private host port) when the grader booted the stack."""
    if grading.stack is None or not service:
        return url
    port = grading.model.web_port(service) if grading.model else None
    return f"the web service `{service}`" + (f", container port {port}" if port else "")


def _size(size: int) -> str:
    return f"{size // 2**20} MiB" if size % 2**20 == 0 else f"{size // 1024} KiB"


def _first_page(url: str, service: str | None, grading: GradingContext) -> probes.Page:
    """The first page, waiting while the app starts; failing early, and saying why, when the app
    is up but listens where no one can reach it (127.0.0.1 or another port inside its container)."""
    import requests
    from grader.checking import probes
    port = grading.model.web_port(service) if grading.model and service else None
    deadline = time.monotonic() + grading.ready_timeout
    look_at = time.monotonic() + LOOK_INSIDE_AFTER_S
    while True:
        try:
            return probes.fetch(url, timeout=REQUEST_TIMEOUT_S)
        except requests.ConnectionError as exc:
            if isinstance(exc, requests.Timeout) and time.monotonic() > deadline:
                raise
            error = exc
        now = time.monotonic()
        if grading.stack is not None and service and port and now >= look_at:
            _fail_if_unreachable(grading, service, port)
            look_at = now + 3
        if now > deadline:
            listeners = grading.stack.listeners(service) if grading.stack is not None and service else None
            inside = f" Nothing listens on port {port} inside its container." if listeners == [] and port else ""
            fail(f"The web app ({_target(grading, url, service)}) could not be reached within "
                 f"{grading.ready_timeout:g} s.{inside}",
                 expected="an HTTP answer", found=f"{type(error).__name__}: {error}", hint=LISTEN_HINT,
                 details=grading.stack.logs(service) if grading.stack is not None and service else None)
        time.sleep(0.1)


def _fail_if_unreachable(grading: GradingContext, service: str, port: int) -> None:
    from grader.checking import probes
    stack = grading.stack
    state = stack.refresh().get(service)
    if state is not None and state.problem:
        fail(f"The web service `{service}` stopped before it answered: {state.problem}.",
             expected="the web app running and answering GET /", found=state.problem,
             hint="Read its logs below (or `docker compose logs`) for the error that stopped it.",
             details=stack.logs(service))
    listeners = stack.listeners(service)
    problem = probes.listening_problem(listeners or [], port)
    if problem:
        shown = ", ".join(map(str, listeners or []))
        fail(f"The web app cannot be reached: {problem}.",
             expected=f"the app listening on 0.0.0.0:{port} inside its container", found=f"listening on {shown}",
             location=grading.model.locate(service, "ports") if grading.model else None, hint=LISTEN_HINT,
             details=stack.logs(service))


def _counts(url: str, service: str | None, grading: GradingContext) -> list[int]:
    from grader.checking import probes
    pages = [_get(url, service, grading, f"visit {i + 1}", first=(i == 0)) for i in range(REQUESTS)]
    numbers = [probes.numbers_in(page.text) for page in pages]
    index, values = probes.rising_counter(numbers)
    if index is None:
        fail("The page shows no number.", expected="the visit count, e.g. 'visited 3 times'",
             found=pages[-1].text[:200] + (" …" if pages[-1].truncated else ""),
             hint="Return the value of `r.incr('hits')` in the page.")
    steps = {b - a for a, b in zip(values, values[1:])}
    if steps != {1}:
        what = "does not change" if steps == {0} else f"changes by {', '.join(map(str, sorted(steps)))}"
        fail(f"Over {REQUESTS} requests the count {what}.", expected="a count rising by exactly 1 per request",
             found=" → ".join(map(str, values)),
             hint="Call `r.incr(...)` exactly once per request to `/`, and show its result."
             if steps != {0} else "Increment the counter in Redis on every request: `hits = r.incr('hits')`.")
    return values


@check("flask-counter", points=3, bonus=True, title="Bonus: a Flask page counts visits in Redis")
def test_flask_counter(grading: GradingContext, web_url: str, outcome: Outcome) -> None:
    from grader.checking import probes
    service = grading.web_service
    url = web_url + "/"
    values = _counts(url, service, grading)
    if grading.stack is None:
        _live_counter_in_redis(grading, values[-1])
        outcome.message = f"count rose {' → '.join(map(str, values))} and is stored in Redis"
        return
    grading.stack.restart(service)
    url = (grading.web_base_url() or web_url) + "/"
    after = _get(url, service, grading, f"after restarting {service}", first=True)
    numbers = probes.numbers_in(after.text)
    expected = values[-1] + 1
    if expected not in numbers:
        found = ", ".join(map(str, numbers)) or "no number"
        fail("After the web container restarted, the count did not go on from where it was: it is kept in the "
             "app's memory, not in Redis.", expected=str(expected), found=found,
             hint="Keep the count in Redis (`r.incr('hits')`), not in a Python variable.")
    outcome.message = f"count rose {' → '.join(map(str, values))} → {expected}, across a restart of `{service}`"


def _live_counter_in_redis(grading: GradingContext, shown: int) -> None:
    """Without restarting anything, look for the shown count in a Redis key."""
    import redis
    from grader.checking import probes
    from urllib.parse import urlparse

    url = urlparse(grading.live.redis_url)
    client = probes.redis_client(url.hostname or "localhost", url.port or 6379, password=url.password)
    deadline = time.monotonic() + grading.rubric.limits.check_timeout_s
    try:
        for key in client.scan_iter(count=100):
            if client.type(key) == b"string" and client.get(key) == str(shown).encode():
                return
            if time.monotonic() > deadline:  # each reply is bounded; a SCAN that never ends is not
                fail(f"Redis could not be searched for the counter within {grading.rubric.limits.check_timeout_s:g} s.",
                     expected="a Redis key holding the count", found="more keys than could be read in time",
                     hint="Point --redis-url at the Redis of this stack, with few other keys in it.")
    except probes.BadReply as exc:
        fail(f"{exc}.", expected="a Redis key holding the count", found=exc.found, hint=probes.BAD_REPLY_HINT)
    except redis.RedisError as exc:
        fail("Redis could not be read to find the counter.", expected="a Redis key holding the count", found=str(exc))
    finally:
        client.close()
    fail("No Redis key holds the count the page shows: it is not stored in Redis.", expected=f"a key = {shown}",
         found="no such key", hint="Keep the count in Redis (`r.incr('hits')`), not in a Python variable.")
