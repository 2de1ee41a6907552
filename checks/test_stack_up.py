from __future__ import annotations

import time
from typing import TYPE_CHECKING

from grader.checking import Outcome, check, fail, skip

if TYPE_CHECKING:
    from grader.checking import ComposeModel, GradingContext, Stack

CAUGHT_EXITING_S = 5.0  # how long a crash-looping service is watched for its next exit


def _evidence(stack: Stack, name: str) -> str:
    state = stack.services[name]
    if state.build_error:
        return f"Build output of `{name}` (last lines):\n{state.build_error}"
    if state.start_error:
        return f"Compose output when starting `{name}`:\n{state.start_error}"
    logs = stack.logs(name)
    return f"Logs of `{name}` (last lines):\n{logs or '(no output)'}"


def _problems(stack: Stack) -> dict[str, str]:
    """Each broken service's problem, as it is now where it is broken now, else as it was before
    persistence's down. One caught running between two crashes, not yet seen ending, is watched
    until it exits, to tell how; if it is still not seen, what was seen before the down says more."""
    lives = stack.lifetimes
    broken = dict(lives.problems_before_down)
    for name, state in stack.services.items():
        if not state.problem or (name not in broken and lives.settled_before_down(name)):
            continue
        if state.ending_unseen:
            state = stack.wait_running(name, CAUGHT_EXITING_S, until_down=True)
        if state.problem and not (name in broken and state.ending_unseen):
            broken[name] = state.problem
    return broken


@check("stack-up", points=2, title="Every service builds, starts and keeps running")
def test_stack_up(grading: GradingContext, compose: ComposeModel, stack: Stack, outcome: Outcome) -> None:
    if stack is None:
        skip("live mode: the grader did not boot the stack")
    stack.wait_booted()
    # "Keeps running": it runs after the other runtime checks (persistence's down and up included).
    # A service that answered a probe since it last started is up; any other must have run
    # settle_s, which those checks usually gave it already: only what they did not is waited for.
    time.sleep(stack.lifetimes.settle_remaining())
    stack.refresh()
    broken = _problems(stack)
    if broken:
        first = next(iter(broken))
        summary = "; ".join(f"`{name}`: {problem}" for name, problem in broken.items())
        hint = "Run `docker compose up --build` yourself and read the output of the failing service."
        if stack.services[first].build_error:
            hint = stack.services[first].build_hint or \
                "Fix the Dockerfile step that failed (see the build output below), then run `docker compose build`."
        elif stack.services[first].pull_error:
            hint = "Check the image name and tag in the Compose file (e.g. `image: redis:alpine`); `docker pull` it to try."
        elif stack.services[first].status == "restarting" or stack.services[first].exit_code:
            hint = ("The container's main process ends (see its logs below); a service must keep running. "
                    "Run `docker compose logs` to see why it stops.")
        fail(f"Not every service is up after {grading.rubric.limits.settle_s:g} s: {summary}.",
             expected="every service running", found=summary, location=compose.service_line(first),
             hint=hint, details="\n\n".join(_evidence(stack, name) for name in broken))
    outcome.message = f"{len(stack.services)} service(s) running: " + ", ".join(stack.services)
