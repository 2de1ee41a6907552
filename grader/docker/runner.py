"""The one place that runs subprocesses.

Every command runs in its own process group with a time limit; on timeout (or Ctrl-C
while waiting) the whole group is killed, because Compose ignores SIGTERM and leaves
builders behind. A non-zero exit becomes a typed exception carrying the command and
its output.

Output is read while it streams, never whole: of each stream only the last
MAX_CAPTURE_CHARS characters are kept (the end is where Compose, BuildKit and the Docker
CLI print what went wrong, and every caller reads the end), so the grader's memory stays
bounded whatever a command or a container behind it writes. A command that prints more
than MAX_OUTPUT_BYTES in all is stopped like a timed-out one: no command the grader runs
prints that much when it works (BuildKit clips a step's log at 2 MiB), and reading a
flood until the timeout would only burn CPU, here and in dockerd, for nothing.
"""
from __future__ import annotations

import json
import os
import re
import select
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from grader.errors import (
    CommandError,
    CommandFailed,
    CommandTimeout,
    DockerUnavailable,
    OutputTooLarge,
)

MAX_CAPTURE_CHARS = 200_000
MAX_OUTPUT_BYTES = 64 * 1024 * 1024  # stdout and stderr together, after which the command is stopped
_READ_SIZE = 64 * 1024
_DRAIN_AFTER_KILL_S = 2.0  # a descendant that left the process group may hold the pipes open
_PIPE_BUF = getattr(select, "PIPE_BUF", 512)  # a write this small to a writable pipe never blocks
_SUMMARY_CHARS = 300  # of the last line, in an exception's message

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
    truncated: bool = False           # stdout or stderr holds only the end of what was printed
    killed_for_output: bool = False   # stopped after printing more than MAX_OUTPUT_BYTES


class _Tail:
    """The last bytes of one stream, at most enough for MAX_CAPTURE_CHARS characters."""

    _KEEP = 4 * MAX_CAPTURE_CHARS + 4  # UTF-8 needs at most 4 bytes a character

    def __init__(self) -> None:
        self.data = bytearray()
        self.seen = 0

    def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        self.data += chunk
        if len(self.data) > 2 * self._KEEP:  # trim in batches: amortised, not once per chunk
            del self.data[:-self._KEEP]

    def text(self) -> tuple[str, bool]:
        """The kept end as text (universal newlines, as text-mode pipes gave) and whether it was cut."""
        kept = bytes(self.data[-self._KEEP:])
        text = kept.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")
        cut = self.seen > len(kept) or len(text) > MAX_CAPTURE_CHARS
        return text[-MAX_CAPTURE_CHARS:], cut


class _Pump:
    """Feeds stdin and reads stdout/stderr of a process as they stream, with one selector."""

    def __init__(self, process: subprocess.Popen[bytes], input_bytes: bytes | None) -> None:
        assert process.stdout is not None and process.stderr is not None  # spawned with pipes
        self.process = process
        self.tails: dict[IO[bytes], _Tail] = {process.stdout: _Tail(), process.stderr: _Tail()}
        self._input = memoryview(input_bytes or b"")
        self._selector = selectors.DefaultSelector()
        for stream in self.tails:
            self._selector.register(stream, selectors.EVENT_READ)
        if process.stdin is not None:
            self._selector.register(process.stdin, selectors.EVENT_WRITE)

    @property
    def seen(self) -> int:
        return sum(tail.seen for tail in self.tails.values())

    def pump(self, deadline: float, max_bytes: int | None = None) -> bool:
        """Move data until every pipe is closed (True), the deadline passes or more than
        ``max_bytes`` were read (False)."""
        while self._selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (max_bytes is not None and self.seen > max_bytes):
                return False
            for key, _ in self._selector.select(remaining):
                stream = cast(IO[bytes], key.fileobj)
                if stream is self.process.stdin:
                    self._write(stream)
                else:
                    self._read(stream)
        return True

    def _read(self, stream: IO[bytes]) -> None:
        chunk = os.read(stream.fileno(), _READ_SIZE)
        if chunk:
            self.tails[stream].add(chunk)
        else:
            self._close(stream)

    def _write(self, stream: IO[bytes]) -> None:
        try:
            written = os.write(stream.fileno(), self._input[:_PIPE_BUF])
        except BrokenPipeError:  # the command stopped reading: like communicate(), not an error
            written = len(self._input)
        self._input = self._input[written:]
        if not self._input:
            self._close(stream)

    def _close(self, stream: IO[bytes]) -> None:
        self._selector.unregister(stream)
        stream.close()

    def close(self) -> None:
        for key in list(self._selector.get_map().values()):
            self._close(cast(IO[bytes], key.fileobj))
        self._selector.close()

    def output(self) -> tuple[str, str, bool]:
        (stdout, cut_out), (stderr, cut_err) = (tail.text() for tail in self.tails.values())
        return stdout, stderr, cut_out or cut_err


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def shown(argv: Sequence[str]) -> str:
    """The start of a command as messages show it: the Compose plugin, called by its path to save a
    Docker CLI start, is named as people call it, `docker compose`."""
    words = list(argv[:4])
    if words and words[0].endswith("cli-plugins/docker-compose"):
        words[0] = "docker compose"
    return " ".join(words)


def daemon_is_down(stderr: str) -> bool:
    return bool(_DAEMON_DOWN.search(stderr))


# The commands running now, by the thread that runs them: a stack that boots in the background
# stops its thread's commands when it is torn down (kill_commands_of).
_RUNNING: dict[int, set[subprocess.Popen[bytes]]] = {}
_RUNNING_LOCK = threading.Lock()


def kill_commands_of(thread_ident: int) -> None:
    """Kill (the process groups of) every command the thread ``thread_ident`` is running."""
    with _RUNNING_LOCK:
        processes = list(_RUNNING.get(thread_ident, ()))
    for process in processes:
        _kill_group(process)


def _register(process: subprocess.Popen[bytes], add: bool) -> None:
    with _RUNNING_LOCK:
        mine = _RUNNING.setdefault(threading.get_ident(), set())
        if add:
            mine.add(process)
        else:
            mine.discard(process)
            if not mine:
                _RUNNING.pop(threading.get_ident(), None)


def _spawn(argv: list[str], env: Mapping[str, str] | None, cwd: Path | None, with_input: bool) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if with_input else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,  # own process group: Ctrl-C reaches us, not Compose
        )
    except FileNotFoundError as exc:
        raise CommandFailed(f"{argv[0]} is not installed", argv, None, "", str(exc)) from exc


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    check: bool = True,
    input_text: str | None = None,
    max_output_bytes: int = MAX_OUTPUT_BYTES,
    meanwhile: Callable[[], None] | None = None,
) -> Completed:
    """Run ``argv`` and return its output; raise CommandTimeout / DockerUnavailable / CommandFailed
    (OutputTooLarge when it printed more than ``max_output_bytes``).

    ``meanwhile`` is called, in this thread, once the command has started and before its output is
    read: work the caller would otherwise do after it, done while it runs on another CPU. It
    should take less time than the command (the output waits for it, in the pipes); what it
    raises stops the command like Ctrl-C does."""
    argv = [str(arg) for arg in argv]
    started = time.monotonic()
    deadline = started + timeout
    process = _spawn(argv, env, cwd, input_text is not None)
    _register(process, True)
    pump = _Pump(process, input_text.encode("utf-8") if input_text is not None else None)
    try:
        if meanwhile is not None:
            meanwhile()
        finished = pump.pump(deadline, max_output_bytes) and _exited_by(process, deadline)
        flooded = pump.seen > max_output_bytes
        if not finished:
            _stop(process, pump)
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    finally:
        pump.close()
        _register(process, False)
    return _outcome(argv, process, pump, started, timeout, finished=finished, flooded=flooded,
                    check=check, max_output_bytes=max_output_bytes)


def _outcome(argv: list[str], process: subprocess.Popen[bytes], pump: _Pump, started: float, timeout: float, *,
             finished: bool, flooded: bool, check: bool, max_output_bytes: int) -> Completed:
    """What an ended command gives: its output, or the typed error for how it ended."""
    stdout, stderr, truncated = pump.output()
    if not finished and not flooded:
        raise CommandTimeout(
            f"{shown(argv)} … did not finish within {timeout:g} s and was stopped",
            argv, None, stdout, stderr, truncated=truncated,
        )
    result = Completed(argv, process.returncode, stdout, stderr, time.monotonic() - started,
                       truncated=truncated, killed_for_output=flooded)
    _log_command(result, started)
    if check and (result.returncode != 0 or result.killed_for_output):
        raise _failure(result, max_output_bytes)
    return result


def _log_command(result: Completed, started: float) -> None:
    """With GRADER_COMMAND_LOG=FILE, append each command the grader ran, when and how long (one
    JSON line each): where a grading spends its time, for bench/ and for a slow machine."""
    log = os.environ.get("GRADER_COMMAND_LOG")
    if not log:
        return
    line = {"started": round(started, 4), "seconds": round(result.duration_s, 4), "returncode": result.returncode,
            "argv": result.argv}
    with open(log, "a", encoding="utf-8") as file:
        file.write(json.dumps(line) + "\n")


def _stop(process: subprocess.Popen[bytes], pump: _Pump) -> None:
    """Kill the whole group, keep what it printed before it died, and reap it."""
    _kill_group(process)
    pump.pump(time.monotonic() + _DRAIN_AFTER_KILL_S)
    process.wait()


def _exited_by(process: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait (until ``deadline``) for a process whose pipes are closed; False when it is still running."""
    try:
        process.wait(timeout=max(0.0, deadline - time.monotonic()))
        return True
    except subprocess.TimeoutExpired:
        return False


def _size(size: int) -> str:
    return f"{size // 2**20} MiB" if size % 2**20 == 0 else f"{size:,} bytes"


def _failure(result: Completed, max_output_bytes: int = MAX_OUTPUT_BYTES) -> CommandError:
    summary = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[-1]
    if len(summary) > _SUMMARY_CHARS:  # one endless line must not become the whole message
        summary = summary[:_SUMMARY_CHARS] + " …"
    fields = (result.argv, result.returncode, result.stdout, result.stderr)
    if result.killed_for_output:
        return OutputTooLarge(
            f"{shown(result.argv)} … printed more than {_size(max_output_bytes)} of output "
            f"and was stopped; it last printed: {summary}", *fields, truncated=True,
        )
    if daemon_is_down(result.stderr):
        return DockerUnavailable(f"the Docker engine cannot be reached: {summary}", *fields,
                                 truncated=result.truncated)
    return CommandFailed(f"{shown(result.argv)} … exited with {result.returncode}: {summary}", *fields,
                         truncated=result.truncated)
