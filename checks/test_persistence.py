from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from grader.checking import Outcome, check, fail, skip

if TYPE_CHECKING:
    from grader.checking import GradingContext, Stack

# redis, requests and the probes are imported inside the check: a static grading loads this
# module only to report the check skipped, and must not pay for the Redis and HTTP clients.
KEY = "grader:persistence-probe"


@check("persistence", points=2, title="Data survives docker compose down and up")
def test_persistence(grading: GradingContext, stack: Stack, redis_endpoint, outcome: Outcome) -> None:
    if stack is None:
        skip("live mode: the grader does not take down a stack it did not start")
    service = grading.redis_service
    token = secrets.token_hex(8)
    host, port, password = redis_endpoint
    _write_token(grading, (host, port), password, token)
    stack.down_and_up(keep_graceful=service)
    state = stack.wait_running(service, grading.ready_timeout)
    endpoint = stack.endpoint(service, grading.rubric.expect.port)
    if not state.running or endpoint is None:
        fail(f"After `down` and `up`, `{service}` did not run again: {state.problem}.", expected="Redis running",
             found=state.problem or "no port", details=stack.logs(service))
    value = _read_token(grading, endpoint, password)
    if value != token.encode():
        fail("A value written to Redis was gone after `docker compose down` and `up`.",
             expected=f"{KEY} = {token}", found="no value" if value is None else repr(value),
             location=grading.model.locate(service, "volumes") if grading.model else None,
             hint="Keep Redis data in a named volume mounted at /data, declared under the top-level `volumes:`.")
    stack.note_answered(service)
    outcome.message = "a test value survived down and up"


def _write_token(grading: GradingContext, endpoint: tuple[str, int], password: str | None, token: str) -> None:
    """SET the probe key before the stack goes down; a Redis that will not take it fails here."""
    import redis
    from grader.checking import probes

    client = probes.redis_client(*endpoint, password=password)
    try:
        probes.wait_for_ping(client, grading.ready_timeout)
        client.set(KEY, token)
    except redis.AuthenticationError:
        fail("Redis asks for a password, so the grader cannot write a test value (see redis-ping).",
             expected="SET to succeed without a password", found="NOAUTH Authentication required",
             hint="Remove `--requirepass` (or `requirepass` in redis.conf) from the Redis service.")
    except probes.BadReply as exc:
        fail(f"{exc}.", expected="SET to succeed", found=exc.found, hint=probes.BAD_REPLY_HINT)
    except redis.RedisError as exc:
        fail("Redis did not accept a test value.", expected="SET to succeed", found=str(exc))
    finally:
        client.close()


def _read_token(grading: GradingContext, endpoint: tuple[str, int], password: str | None) -> bytes | None:
    """GET (and delete) the probe key after the stack came back."""
    import redis
    from grader.checking import probes

    client = probes.redis_client(*endpoint, password=password)
    try:
        probes.wait_for_ping(client, grading.ready_timeout)
        value = client.get(KEY)
        client.delete(KEY)
        return value
    except probes.BadReply as exc:
        fail(f"After `down` and `up`, {exc}.", expected="the test value", found=exc.found, hint=probes.BAD_REPLY_HINT)
    except redis.RedisError as exc:
        fail("Redis did not answer after `down` and `up`.", expected="the test value", found=str(exc))
    finally:
        client.close()
