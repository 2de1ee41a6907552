"""The one place that runs subprocesses.

Every command runs in its own process group with a time limit; on timeout (or Ctrl-C
while waiting) the whole group is killed, because Compose ignores SIGTERM and leaves
builders behind. A non-zero exit becomes a typed exception carrying the command and
its output.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.errors import CommandFailed, CommandTimeout, DockerUnavailable

MAX_CAPTURE_CHARS = 200_000

# What the Docker CLI and Compose print when the engine is not there. Matched narrowly:
# a student's build step failing with "Connection refused" is the student's problem.
_DAEMON_DOWN = re.compile(
    r"cannot connect to the docker daemon"
    r"|^\s*(error: )?error during connect"
    r"|dial unix \S*docker\.sock: connect"
    r"|is the docker daemon running\?",
    re.IGNORECASE | re.MULTILINE,
)


@dataclass(frozen=True)
class Completed:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float


def _tail(text: str) -> str:
    return text if len(text) <= MAX_CAPTURE_CHARS else text[-MAX_CAPTURE_CHARS:]


def _kill_group(process: subprocess.Popen[str]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def daemon_is_down(stderr: str) -> bool:
    return bool(_DAEMON_DOWN.search(stderr))


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    input_text: str | None = None,
) -> Completed:
    """Run ``argv`` and return its output; raise CommandTimeout / DockerUnavailable / CommandFailed."""
    argv = [str(arg) for arg in argv]
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # own process group: Ctrl-C reaches us, not Compose
        )
    except FileNotFoundError as exc:
        raise CommandFailed(f"{argv[0]} is not installed", argv, None, "", str(exc)) from exc
    try:
        stdout, stderr = process.communicate(input=input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        raise CommandTimeout(
            f"{' '.join(argv[:4])} … did not finish within {timeout:g} s and was stopped",
            argv, None, _tail(stdout or ""), _tail(stderr or ""),
        ) from None
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    result = Completed(argv, process.returncode, _tail(stdout), _tail(stderr), time.monotonic() - started)
    if check and result.returncode != 0:
        raise _failure(result)
    return result


def _failure(result: Completed) -> CommandFailed:
    summary = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
    if daemon_is_down(result.stderr):
        return DockerUnavailable(
            f"the Docker engine cannot be reached: {summary}",
            result.argv, result.returncode, result.stdout, result.stderr,
        )
    return CommandFailed(
        f"{' '.join(result.argv[:4])} … exited with {result.returncode}: {summary}",
        result.argv, result.returncode, result.stdout, result.stderr,
    )
