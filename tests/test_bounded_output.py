"""Command output is read while it streams, with a cap: memory stays bounded whatever a command writes.

The memory tests run the runner in a fresh Python process and read its peak RSS (VmHWM), so
what the test process itself holds does not count, and a runner that buffered the output whole
(as communicate() did: gigabytes in a few seconds) fails them.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.docker import runner
from grader.errors import CommandFailed, CommandTimeout, OutputTooLarge
from tests.test_runner import ctrl_c_after, marked_env, wait_until_gone

REPO = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")

# Numbered lines as fast as Python writes them, for ever (or up to argv[1] lines, then END).
NUMBERED = (
    "import sys\n"
    "limit = int(sys.argv[1]) if len(sys.argv) > 1 else None\n"
    "out = sys.stdout.buffer\n"
    "n = 0\n"
    "while limit is None or n < limit:\n"
    "    out.write(b''.join(b'line %09d\\n' % i for i in range(n, n + 1000)))\n"
    "    n += 1000\n"
    "out.write(b'END %d' % n)\n"
)

# Runs one command with the runner in a fresh process; prints what happened and its peak RSS.
MEASURE = """
import json, sys, time
from grader.docker import runner
from grader.errors import CommandError

def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

argv, timeout, cap = json.loads(sys.argv[1])
before = hwm()
started = time.monotonic()
report = {}
try:
    done = runner.run(argv, timeout=timeout, max_output_bytes=cap, check=False)
    report.update(kind="completed", returncode=done.returncode, stdout=done.stdout, stderr=done.stderr,
                  truncated=getattr(done, "truncated", None),
                  killed_for_output=getattr(done, "killed_for_output", None))
except CommandError as exc:
    report.update(kind=type(exc).__name__, stdout=exc.stdout, stderr=exc.stderr,
                  truncated=getattr(exc, "truncated", None), message=str(exc))
report.update(elapsed=time.monotonic() - started, growth=hwm() - before)
print(json.dumps(report))
"""


def measure(argv: list[str], timeout: float, cap: int = runner.MAX_OUTPUT_BYTES) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, json.dumps([argv, timeout, cap])],
                          capture_output=True, text=True, timeout=timeout + 60, cwd=REPO, check=False,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def numbers(text: str) -> list[int]:
    return [int(line.split()[1]) for line in text.splitlines() if line.startswith("line ")]


def test_an_endless_writer_is_stopped_at_its_timeout_with_bounded_memory() -> None:
    """No output cap here: only the timeout stops it, after gigabytes went through the pipe."""
    report = measure([sys.executable, "-c", NUMBERED], timeout=3, cap=1 << 62)
    assert report["kind"] == "CommandTimeout"
    assert report["growth"] < 48 * MiB, f"peak RSS grew by {report['growth'] / MiB:.0f} MiB"
    assert 3 <= report["elapsed"] < 8
    assert report["truncated"] is True
    assert len(report["stdout"]) == runner.MAX_CAPTURE_CHARS
    seen = numbers(report["stdout"])
    assert seen == list(range(seen[0], seen[0] + len(seen)))  # the tail is one piece of the output
    assert seen[-1] > 1_000_000  # ... from its end, not its start (> 14 MB of lines went by)


def test_the_tail_is_the_real_end_of_the_output() -> None:
    lines = 300_000  # 4.2 MB
    report = measure([sys.executable, "-c", NUMBERED, str(lines)], timeout=60)
    assert report["kind"] == "completed" and report["returncode"] == 0
    assert report["stdout"].endswith(f"line {lines - 1:09d}\nEND {lines}")
    assert len(report["stdout"]) == runner.MAX_CAPTURE_CHARS and report["truncated"] is True
    seen = numbers(report["stdout"])
    assert seen == list(range(lines - len(seen), lines))


def test_a_flood_is_stopped_after_max_output_bytes() -> None:
    started = time.monotonic()
    with pytest.raises(OutputTooLarge) as info:
        runner.run(["yes", "flood"], timeout=60)
    assert time.monotonic() - started < 20  # not the timeout: the cap (64 MiB go by in well under a second)
    error = info.value
    assert isinstance(error, CommandFailed)  # callers that handle a failed command handle this one
    assert "printed more than 64 MiB of output and was stopped; it last printed: flood" in str(error)
    assert error.truncated is True
    assert error.stdout.endswith("flood\n") and len(error.stdout) == runner.MAX_CAPTURE_CHARS


def test_a_flood_with_check_false_returns_the_tail_and_says_so() -> None:
    report = measure(["yes", "flood"], timeout=60, cap=8 * MiB)
    assert report["kind"] == "completed"
    assert report["killed_for_output"] is True and report["truncated"] is True
    assert report["returncode"] == -signal.SIGKILL
    assert report["growth"] < 48 * MiB
    assert report["elapsed"] < 20


def test_a_flood_kills_the_whole_process_group() -> None:
    marker, env = marked_env()
    script = "sleep 60 & (trap '' TERM; yes stderr-flood >&2) & wait"
    with pytest.raises(OutputTooLarge) as info:
        runner.run(["sh", "-c", script], timeout=60, env=env, max_output_bytes=4 * MiB)
    assert info.value.stderr.endswith("stderr-flood\n")
    assert info.value.stdout == ""
    assert wait_until_gone(marker) == []


def test_flood_on_stderr_keeps_stdout_whole() -> None:
    report = measure(["sh", "-c", "echo 'the real answer'; yes noise >&2"], timeout=60, cap=16 * MiB)
    assert report["stdout"] == "the real answer\n"
    assert report["stderr"].endswith("noise\n") and len(report["stderr"]) == runner.MAX_CAPTURE_CHARS
    assert report["killed_for_output"] is True


def test_output_within_the_cap_is_whole_and_not_truncated() -> None:
    exact = runner.run([sys.executable, "-c", f"print('a' * {runner.MAX_CAPTURE_CHARS}, end='')"], timeout=30)
    assert len(exact.stdout) == runner.MAX_CAPTURE_CHARS and exact.truncated is False
    one_more = runner.run([sys.executable, "-c", f"print('a' * {runner.MAX_CAPTURE_CHARS + 1}, end='')"], timeout=30)
    assert len(one_more.stdout) == runner.MAX_CAPTURE_CHARS and one_more.truncated is True


def test_multibyte_tail_is_whole_characters() -> None:
    code = "import sys; sys.stdout.buffer.write('é'.encode() + '😀'.encode() * 300_000)"
    result = runner.run([sys.executable, "-c", code], timeout=30)
    assert result.stdout == "😀" * runner.MAX_CAPTURE_CHARS and result.truncated is True


def test_newlines_are_translated_as_text_pipes_did() -> None:
    result = runner.run(["printf", "a\\r\\nb\\rc\\n"], timeout=10)
    assert result.stdout == "a\nb\nc\n"


def test_large_input_while_reading_output() -> None:
    """Writing stdin and reading stdout at once: neither pipe may fill up and block the other."""
    text = "".join(f"{i:07d}\n" for i in range(400_000))  # 3.2 MB, far more than a pipe holds
    result = runner.run(["cat"], timeout=30, input_text=text)
    assert result.stdout == text[-runner.MAX_CAPTURE_CHARS:] and result.truncated is True


def test_input_to_a_command_that_does_not_read_it() -> None:
    result = runner.run(["true"], timeout=10, input_text="x" * 1_000_000)
    assert result.returncode == 0 and result.stdout == ""


def test_ctrl_c_during_a_flood_kills_the_group() -> None:
    marker, env = marked_env()
    started = time.monotonic()
    with ctrl_c_after(0.5), pytest.raises(KeyboardInterrupt):
        runner.run(["sh", "-c", "yes flood & sleep 30"], timeout=60, env=env, max_output_bytes=1 << 62)
    assert time.monotonic() - started < 10
    assert wait_until_gone(marker) == []


def test_a_timeout_keeps_the_output_so_far_and_its_flag() -> None:
    with pytest.raises(CommandTimeout) as info:
        runner.run(["sh", "-c", "echo early; sleep 30"], timeout=0.5)
    assert info.value.stdout == "early\n" and info.value.truncated is False


def test_a_command_that_closes_its_output_but_runs_on_still_times_out() -> None:
    marker, env = marked_env()
    started = time.monotonic()
    with pytest.raises(CommandTimeout):
        runner.run(["sh", "-c", "exec >&- 2>&-; sleep 30"], timeout=1, env=env)
    assert time.monotonic() - started < 6
    assert wait_until_gone(marker) == []


def test_a_long_last_line_does_not_become_the_whole_message() -> None:
    with pytest.raises(CommandFailed) as info:
        runner.run([sys.executable, "-c", "import sys; sys.stderr.write('x' * 100000); sys.exit(2)"], timeout=10)
    assert len(str(info.value)) < 500 and info.value.stderr == "x" * 100_000
