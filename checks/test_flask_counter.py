import redis
import requests

from grader import probes
from grader.checking import Outcome, check, fail
from grader.context import GradingContext

REQUESTS = 3
HOST_HINT = "Connect with `redis.Redis(host='redis', port=6379)`: inside Compose, `localhost` is the web container itself."


def _get(url: str, service: str | None, grading: GradingContext, first: bool = False) -> probes.Page:
    timeout = grading.ready_timeout
    try:
        page = probes.wait_for_http(url, timeout) if first else probes.fetch(url)
    except requests.Timeout:
        fail(f"GET {url} did not answer within 5 s.", expected="a page", found="no answer (timeout)",
             hint="Make sure the route returns quickly and does not wait for anything that never comes.")
    except requests.RequestException as exc:
        fail(f"The web app could not be reached at {url}.", expected="an HTTP answer", found=f"{type(exc).__name__}: {exc}",
             hint="The app must listen on 0.0.0.0 (e.g. `app.run(host='0.0.0.0', port=5000)`).")
    if page.status != 200:
        logs = grading.stack.logs(service) if grading.stack and service else None
        hint = HOST_HINT if logs and ("localhost" in logs or "Connection refused" in logs) else \
            "Read the web service's logs (`docker compose logs web`) for the error behind it."
        fail(f"GET / answered HTTP {page.status}.", expected="HTTP 200 with the visit count",
             found=f"HTTP {page.status}: {page.text[:200]}", hint=hint, details=logs)
    return page


def _counts(url: str, service: str | None, grading: GradingContext) -> list[int]:
    pages = [_get(url, service, grading, first=(i == 0)) for i in range(REQUESTS)]
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
    service = grading.web_service
    url = web_url + "/"
    values = _counts(url, service, grading)
    if grading.stack is None:
        _live_counter_in_redis(grading, values[-1])
        outcome.message = f"count rose {' → '.join(map(str, values))} and is stored in Redis"
        return
    grading.stack.restart(service)
    url = (grading.web_base_url() or web_url) + "/"
    after = _get(url, service, grading, first=True)
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
    from urllib.parse import urlparse

    url = urlparse(grading.live.redis_url)
    client = probes.redis_client(url.hostname or "localhost", url.port or 6379, password=url.password)
    try:
        for key in client.scan_iter(count=100):
            if client.type(key) == b"string" and client.get(key) == str(shown).encode():
                return
    except redis.RedisError as exc:
        fail("Redis could not be read to find the counter.", expected="a Redis key holding the count", found=str(exc))
    finally:
        client.close()
    fail("No Redis key holds the count the page shows: it is not stored in Redis.", expected=f"a key = {shown}",
         found="no such key", hint="Keep the count in Redis (`r.incr('hits')`), not in a Python variable.")
