"""An instructor's own check: the Redis service declares a healthcheck.

Any `test_*.py` file in a folder listed under `extra_checks:` in the rubric is loaded.
A check is a pytest test marked with `check(...)`; it asks for fixtures (here the
Compose model, the Redis service name and `outcome`) and calls `fail(...)` with what a
student needs to fix it.
"""
from grader.checking import ComposeModel, Outcome, check, fail


@check("redis-healthcheck", points=1, title="Redis declares a healthcheck")
def test_redis_healthcheck(compose: ComposeModel, redis_service: str | None, outcome: Outcome) -> None:
    if redis_service is None:
        fail("No Redis service found (see redis-image).", expected="a Redis service with a healthcheck",
             found="no Redis service", location=compose.locate_top_level("services"))
    healthcheck = compose.service(redis_service).get("healthcheck") or {}
    if not healthcheck.get("test") or healthcheck.get("disable"):
        fail(f"The service `{redis_service}` has no healthcheck.", expected="a healthcheck running redis-cli ping",
             found="none", location=compose.service_line(redis_service),
             hint='Add:\n  healthcheck:\n    test: ["CMD", "redis-cli", "ping"]\n    interval: 5s')
    outcome.message = "healthcheck: " + " ".join(map(str, healthcheck["test"]))
