"""The subprocess runner: outputs, typed failures, timeouts that kill the whole process group."""
from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.docker import runner
from grader.errors import (
    CommandError,
    CommandFailed,
    CommandTimeout,
    DockerUnavailable,
    EnvironmentProblem,
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")

DAEMON_DOWN = ('echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. '
               'Is the docker daemon running?" >&2; exit 1')


def marked_env() -> tuple[str, dict[str, str]]:
    marker = f"GRADER_TEST_MARKER_{uuid.uuid4().hex}"
    return marker, {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GRADER_TEST_MARKER": marker}


def live_pids_with(marker: str) -> list[int]:
    """Processes (not zombies) whose environment carries ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if state not in ("Z", "X") and marker.encode() in environ:
            found.append(int(entry.name))
    return found


def wait_until_gone(marker: str, within: float = 3.0) -> list[int]:
    deadline = time.monotonic() + within
    while True:
        pids = live_pids_with(marker)
        if not pids or time.monotonic() > deadline:
            return pids
        time.sleep(0.05)


@contextmanager
def ctrl_c_after(seconds: float) -> Iterator[None]:
    """KeyboardInterrupt in this thread after ``seconds``, as a Ctrl-C would raise it."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_marker_scan_sees_live_processes() -> None:
    """The /proc scan used below must actually see a marked process, or the kill tests prove nothing."""
    import subprocess
    marker, env = marked_env()
    child = subprocess.Popen(["sleep", "30"], env=env)
    try:
        deadline = time.monotonic() + 3
        while child.pid not in live_pids_with(marker) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert child.pid in live_pids_with(marker)
    finally:
        child.kill()
        child.wait()
    assert live_pids_with(marker) == []


def test_run_returns_output() -> None:
    started = time.monotonic()
    result = runner.run(["sh", "-c", 'echo "out $0"; echo err >&2', "arg0"], timeout=10)
    assert result.returncode == 0
    assert result.stdout == "out arg0\n"
    assert result.stderr == "err\n"
    assert result.argv == ["sh", "-c", 'echo "out $0"; echo err >&2', "arg0"]
    assert 0 <= result.duration_s <= time.monotonic() - started


def test_arguments_are_stringified_and_never_shell_parsed(tmp_path: Path) -> None:
    result = runner.run(["printf", "%s|", "a b", "$HOME", ";rm -rf x", 42, tmp_path], timeout=10)
    assert result.stdout == f"a b|$HOME|;rm -rf x|42|{tmp_path}|"


def test_env_cwd_and_input(tmp_path: Path) -> None:
    result = runner.run(["sh", "-c", 'printf "%s %s " "$ONLY" "$(pwd)"; cat'], timeout=10,
                        env={"PATH": os.environ["PATH"], "ONLY": "this"}, cwd=tmp_path, input_text="stdin text")
    assert result.stdout == f"this {tmp_path} stdin text"


def test_env_is_exactly_what_was_given() -> None:
    os.environ["GRADER_TEST_SECRET"] = "leak"
    try:
        result = runner.run(["sh", "-c", 'echo "[$GRADER_TEST_SECRET]"'], timeout=10, env={"PATH": os.environ["PATH"]})
    finally:
        del os.environ["GRADER_TEST_SECRET"]
    assert result.stdout == "[]\n"


def test_stdin_is_closed_without_input() -> None:
    started = time.monotonic()
    result = runner.run(["cat"], timeout=10)  # would block for ever on an inherited terminal
    assert result.stdout == ""
    assert time.monotonic() - started < 5


def test_non_zero_exit_raises_command_failed_with_everything() -> None:
    argv = ["sh", "-c", "echo partial; echo 'first' >&2; echo 'boom: bad thing' >&2; exit 3"]
    with pytest.raises(CommandFailed) as info:
        runner.run(argv, timeout=10)
    error = info.value
    assert not isinstance(error, DockerUnavailable)
    assert error.argv == argv
    assert error.returncode == 3
    assert error.stdout == "partial\n"
    assert error.stderr == "first\nboom: bad thing\n"
    assert "exited with 3" in str(error)
    assert "boom: bad thing" in str(error)  # the last line of stderr is the summary
    assert "boom: bad thing" in error.output_tail()


def test_failure_summary_falls_back_to_stdout_then_to_no_output() -> None:
    with pytest.raises(CommandFailed, match="only on stdout"):
        runner.run(["sh", "-c", "echo 'only on stdout'; exit 1"], timeout=10)
    with pytest.raises(CommandFailed, match="no output"):
        runner.run(["sh", "-c", "exit 1"], timeout=10)


def test_check_false_returns_the_failure() -> None:
    result = runner.run(["sh", "-c", "echo x; exit 7"], timeout=10, check=False)
    assert (result.returncode, result.stdout) == (7, "x\n")


def test_missing_program_is_command_failed() -> None:
    with pytest.raises(CommandFailed) as info:
        runner.run([f"no-such-program-{uuid.uuid4().hex}", "x"], timeout=10)
    assert "not installed" in str(info.value)
    assert info.value.returncode is None


def test_daemon_down_maps_to_docker_unavailable() -> None:
    with pytest.raises(DockerUnavailable) as info:
        runner.run(["sh", "-c", DAEMON_DOWN], timeout=10)
    error = info.value
    assert isinstance(error, EnvironmentProblem) and isinstance(error, CommandError)
    assert "Docker engine cannot be reached" in str(error)
    assert error.returncode == 1
    assert "Cannot connect to the Docker daemon" in error.stderr


@pytest.mark.parametrize("stderr, down", [
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", True),
    ("error during connect: Get \"http://%2F%2F.%2Fpipe%2FdockerDesktopLinuxEngine/v1.47/info\": "
     "open //./pipe/dockerDesktopLinuxEngine: The system cannot find the file specified.", True),
    ("permission denied while trying to connect to the docker API at unix:///var/run/docker.sock", False),
    ("service \"redis\" refers to undefined volume data: invalid compose project", False),
    ("Connection refused", False),  # no mention of Docker: not the daemon
    ("", False),
])
def test_daemon_is_down(stderr: str, down: bool) -> None:
    assert runner.daemon_is_down(stderr) is down


def test_a_students_failing_build_step_is_not_the_daemon_being_down() -> None:
    stderr = (
        "#9 [web 4/5] RUN python init_counter.py\n"
        "#9 0.412 redis.exceptions.ConnectionError: Error 111 connecting to localhost:6379. Connection refused.\n"
        "#9 ERROR: process \"/bin/sh -c python init_counter.py\" did not complete successfully: exit code: 1\n"
        "Dockerfile:6\n"
        "--------------------\n"
        "   5 |     COPY . .\n"
        "   6 | >>> RUN python init_counter.py\n"
        "--------------------\n"
        "failed to solve: process \"/bin/sh -c python init_counter.py\" did not complete successfully: exit code: 1\n"
    )
    assert runner.daemon_is_down(stderr) is False


def test_output_is_capped_to_its_tail() -> None:
    size = runner.MAX_CAPTURE_CHARS + 50_000
    result = runner.run([sys.executable, "-c", f"print('a' * {size - 4} + 'TAIL', end='')"], timeout=30)
    assert len(result.stdout) == runner.MAX_CAPTURE_CHARS
    assert result.stdout.endswith("TAIL")


def test_undecodable_output_does_not_crash() -> None:
    result = runner.run([sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'ok \\xff\\xfe end')"], timeout=10)
    assert result.stdout.startswith("ok ") and result.stdout.endswith(" end")


def test_timeout_kills_the_whole_process_group() -> None:
    marker, env = marked_env()
    started = time.monotonic()
    with pytest.raises(CommandTimeout) as info:
        runner.run(["sh", "-c", "echo started; sleep 30 & sleep 30"], timeout=1, env=env)
    elapsed = time.monotonic() - started
    assert elapsed < 10
    error = info.value
    assert error.argv[:2] == ["sh", "-c"]
    assert error.returncode is None
    assert error.stdout == "started\n"  # output so far is kept
    assert "did not finish within 1 s" in str(error)
    assert wait_until_gone(marker) == []


def test_timeout_kills_a_process_that_ignores_sigterm() -> None:
    marker, env = marked_env()
    script = 'trap "" TERM; sh -c \'trap "" TERM; sleep 30\' & sleep 30'
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        runner.run(["sh", "-c", script], timeout=1, env=env)
    assert time.monotonic() - started < 10
    assert wait_until_gone(marker) == []


def test_timeout_is_not_a_command_failed_and_not_docker_unavailable() -> None:
    with pytest.raises(CommandTimeout) as info:
        runner.run(["sleep", "10"], timeout=0.3)
    assert not isinstance(info.value, (CommandFailed, DockerUnavailable))


def test_ctrl_c_while_waiting_kills_the_group() -> None:
    marker, env = marked_env()
    started = time.monotonic()
    with ctrl_c_after(0.7), pytest.raises(KeyboardInterrupt):
        runner.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=20, env=env)
    assert time.monotonic() - started < 10
    assert wait_until_gone(marker) == []


def test_child_runs_in_its_own_session() -> None:
    result = runner.run([sys.executable, "-c", "import os; print(os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid())"],
                        timeout=10)
    assert result.stdout.split() == ["True", "True"]


def test_meanwhile_runs_while_the_command_runs_and_its_output_is_still_whole(tmp_path: Path) -> None:
    started = tmp_path / "started"
    seen: list[bool] = []

    def meanwhile() -> None:  # the command has started: it wrote the file before it printed
        deadline = time.monotonic() + 10
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        seen.append(started.exists())

    script = f"touch {started}; sleep 0.3; seq 1 20000"  # more than a pipe holds: it waits for the reader
    result = runner.run(["sh", "-c", script], timeout=20, meanwhile=meanwhile)
    assert seen == [True]
    assert result.stdout.split() == [str(n) for n in range(1, 20001)]


def test_what_meanwhile_raises_stops_the_command() -> None:
    marker, env = marked_env()

    def meanwhile() -> None:
        raise RuntimeError("stop here")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="stop here"):
        runner.run(["sh", "-c", "sleep 30 & sleep 30"], timeout=20, env=env, meanwhile=meanwhile)
    assert time.monotonic() - started < 10
    assert wait_until_gone(marker) == []
