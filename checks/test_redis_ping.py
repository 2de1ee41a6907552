from __future__ import annotations

from typing import TYPE_CHECKING

from grader.checking import Outcome, check, fail

if TYPE_CHECKING:
    import redis
    from grader.checking import GradingContext

# redis, requests and the probes are imported inside the check: a static grading loads this
# module only to report the check skipped, and must not pay for the Redis and HTTP clients.


@check("redis-ping", points=1, title="The Redis server answers PING")
def test_redis_ping(grading: GradingContext, redis_client: redis.Redis, outcome: Outcome) -> None:
    import redis
    from grader.checking import probes
    try:
        probes.wait_for_ping(redis_client, timeout=grading.ready_timeout)
    except redis.AuthenticationError:
        fail("Redis asks for a password, so clients that follow the assignment cannot connect.",
             expected="PONG without a password", found="NOAUTH Authentication required",
             hint="Remove `--requirepass` (or `requirepass` in redis.conf) from the Redis service.")
    except probes.BadReply as exc:  # before ConnectionError: it is one, but Redis did answer
        fail(f"{exc}.", expected="PONG", found=exc.found, hint=probes.BAD_REPLY_HINT)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        fail("Redis did not answer PING.", expected="PONG", found=str(exc) or type(exc).__name__,
             hint="Check the Redis service's logs: `docker compose logs redis`.")
    except redis.ResponseError as exc:
        fail("Redis answered PING with an error.", expected="PONG", found=str(exc))
    if grading.stack is not None and grading.redis_service:
        grading.stack.note_answered(grading.redis_service)
    outcome.message = "PONG"
