from __future__ import annotations

from typing import TYPE_CHECKING

from grader.checking import Outcome, check, fail

if TYPE_CHECKING:
    import redis
    from grader.checking import GradingContext

# redis, requests and the probes are imported inside the check: a static grading loads this
# module only to report the check skipped, and must not pay for the Redis and HTTP clients.


SAVE_HINT = (
    "Set the key in your running stack with `docker compose exec redis redis-cli SET {key} \"Your Name\"`, "
    "then save it into your submission: `docker compose exec redis redis-cli SAVE` and "
    "`docker compose cp redis:/data/dump.rdb ./dump.rdb` (or run `grader dump`). "
    "Submit dump.rdb next to your Compose file."
)


def _normalise(name: str) -> str:
    return " ".join(name.casefold().split())


def _seen_in_screenshot(grading: GradingContext, expect, outcome: Outcome) -> bool:
    """Without a dump.rdb, a screenshot showing the key holding a value counts (as the rubric allows)."""
    shot = grading.name_screenshot()
    if shot is None or shot.value is None:
        return False
    key = expect.key
    if expect.student_name and _normalise(shot.value) != _normalise(expect.student_name):
        fail(f"Your screenshot {shot.path} shows `{key}` holding a name that is not the one on the roster.",
             expected=expect.student_name, found=shot.value, hint=f"Set `{key}` to your name as the roster has it.")
    rule = grading.rubric.screenshot_rule("student-name")
    outcome.message = f"seen in screenshot {shot.path}: {key} = {shot.value!r} (read by OCR; no dump.rdb was submitted)"
    outcome.screenshot = shot.path
    outcome.points = rule.screenshot_points
    return True


def _no_screenshot(grading: GradingContext) -> str:
    """What the screenshots showed instead, when they might have counted."""
    read = grading.student_screenshots() if grading.screenshots_may_decide() else None
    if read is None or not read.screenshots:
        return ""
    readable = [shot.path for shot in read.screenshots if not (shot.skipped or shot.error)]
    if not readable:  # e.g. no OCR installed on the grading machine: not the student's fault, and said
        return f", and the grader could not read its screenshots ({read.screenshots[0].skipped or read.screenshots[0].error})"
    names = ", ".join(readable[:3]) + (", …" if len(readable) > 3 else "")
    return f", and no screenshot shows it holding a value ({names}: see Your screenshots)"


@check("student-name", points=2, title="Key student_name holds your name")
def test_student_name(grading: GradingContext, redis_client: redis.Redis, expect, outcome: Outcome) -> None:
    import redis
    from grader.checking import probes
    key = expect.key
    hint = SAVE_HINT.format(key=key)
    try:
        probes.wait_for_ping(redis_client, timeout=grading.ready_timeout)
        # Redis answers with its data loaded: the redis-cli session a student would screenshot runs
        # now, in the background, while the other checks go on
        grading.evidence.redis_cli(grading.stack, grading.redis_service, key)
        kind = redis_client.type(key).decode()
        value = redis_client.get(key) if kind == "string" else None
    except redis.AuthenticationError:
        fail("Redis asks for a password, so the key cannot be read (see redis-ping).", expected=f"a readable `{key}`",
             found="NOAUTH Authentication required", hint="Remove the Redis password.")
    except probes.BadReply as exc:
        fail(f"{exc}.", expected=f"the key `{key}`", found=exc.found, hint=probes.BAD_REPLY_HINT)
    except redis.RedisError as exc:
        fail(f"Redis could not be asked for `{key}`.", expected=f"the key `{key}`", found=str(exc), hint=hint)
    problem = grading.dump_problem
    if kind == "none":
        if problem:  # the file was there but not loaded: say why, first
            fail(f"The key `{key}` does not exist in Redis, because the grader did not load "
                 f"{grading.dump_file or 'dump.rdb'}: {problem}",
                 expected=f"`{key}` set to your name, in a dump.rdb Redis can load",
                 found="no such key (dump.rdb not loaded)", hint=hint)
        if _seen_in_screenshot(grading, expect, outcome):
            return
        where = f"(the grader loaded {grading.dump_file})" if grading.dump_file else "(the submission has no dump.rdb)"
        fail(f"The key `{key}` does not exist in Redis {where}{_no_screenshot(grading)}.",
             expected=f"`{key}` set to your name", found="no such key", hint=hint)
    if kind != "string":
        fail(f"The key `{key}` holds a {kind}, not a string.", expected="a string (SET)", found=f"a {kind}",
             hint=f"Replace it: `redis-cli DEL {key}` then `redis-cli SET {key} \"Your Name\"`, and save dump.rdb again.")
    text = value.decode("utf-8", errors="replace")
    if not text.strip():
        fail(f"The key `{key}` is empty.", expected="your name", found='""', hint=hint)
    if expect.student_name and _normalise(text) != _normalise(expect.student_name):
        fail(f"`{key}` holds a name that is not the one on the roster.", expected=expect.student_name,
             found=text, hint=f"Set `{key}` to your name as the roster has it.")
    outcome.message = f"{key} = {text!r}"
