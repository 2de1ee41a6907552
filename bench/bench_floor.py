"""Benchmark: `grader check` against the fast floor, the least Docker work a grading needs.

The floor is written out as the minimum sequence of Docker operations a grading of the sample
must do, run by this script with no fixed waits (it polls for what it needs) and stop timeouts
of 0: build (cached), up, PING, GET the key, SET + SAVE, `down` and `up` of the stack, three
GETs of `/`, a restart of the web service, one more GET, `down -v`. It runs the student's own
files under its own project name, on a private copy.

Each round runs the grader and the floor once each, one after the other (alternating which goes
first), after one warm-up of each so the build cache is warm for both; it prints, per sample,
the median of each and the ratio of the medians. This replaces bench/bench_check.py, whose
floor (`up --wait` + `down -v`) waited 10 s for Python as PID 1 to ignore SIGTERM and so made
any grader look as fast as Docker.

    python bench/bench_floor.py [--samples perfect redis_only wrong_port] [--rounds 5]
    python bench/bench_floor.py --static --rounds 21      # static `grader check`, beside what it cannot avoid
    python bench/bench_floor.py --static --against REV    # ... and the static `grader check` of revision REV
    python bench/bench_floor.py --floor-plugin            # the floor calls the Compose plugin as the grader does
"""
from __future__ import annotations

import argparse
import json
import os
import pty
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
import requests
from revision import export_revision

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_submissions"
# How the floor calls Compose: `docker compose`, as a plain script would; with --floor-plugin, the
# plugin binary itself, as the grader does (one Docker CLI start less per Compose command).
COMPOSE: list[str] = ["docker", "compose"]


def _compose(project: str, folder: Path, *args: str, timeout: float = 600) -> str:
    done = subprocess.run([*COMPOSE, "-p", project, *args], cwd=folder, capture_output=True, text=True,
                          timeout=timeout, check=True)
    return done.stdout


def _until(probe: Callable[[], object], timeout: float = 60) -> object:
    """Poll ``probe`` until it answers (no fixed wait): the floor waits only for what it observes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return probe()
        except (redis.RedisError, requests.RequestException, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _published(project: str, folder: Path, service: str, port: int) -> int:
    host_port = _compose(project, folder, "port", service, str(port)).strip().rsplit(":", 1)[-1]
    return int(host_port)


def floor_project(sample: Path) -> str:
    """One project name per sample and bench run: every round tags the same (cached) built image,
    which ``remove_floor_images`` removes at the end; nothing of the floor outlives the bench."""
    return f"benchfloor{os.getpid()}-{sample.name.replace('_', '-')}"


def remove_floor_images(sample: Path) -> None:
    project = floor_project(sample)
    images = subprocess.run(["docker", "image", "ls", "-q", "--filter", f"reference={project}-*"],
                            capture_output=True, text=True, timeout=60).stdout.split()
    if images:
        subprocess.run(["docker", "image", "rm", "-f", *images], capture_output=True, timeout=120)


def floor_once(sample: Path) -> float:
    """The least Docker work a grading of ``sample`` needs, timed."""
    with tempfile.TemporaryDirectory(prefix="bench-floor-") as tmp:
        copy = Path(tmp) / sample.name
        shutil.copytree(sample, copy, symlinks=True)
        project = floor_project(sample)
        services = _compose(project, copy, "config", "--services").split()
        started = time.monotonic()
        try:
            _compose(project, copy, "build")
            _compose(project, copy, "up", "-d")
            _redis_work(project, copy)
            if "web" in services:
                _web_work(project, copy)
        finally:
            subprocess.run([*COMPOSE, "-p", project, "down", "-v", "-t", "0"], cwd=copy,
                           capture_output=True, timeout=600)
        return time.monotonic() - started


def _redis_work(project: str, folder: Path) -> None:
    client = redis.Redis(port=_until(lambda: _published(project, folder, "redis", 6379)), socket_timeout=5)
    _until(client.ping)
    client.get("student_name")
    client.set("bench:probe", "1")
    client.save()
    _compose(project, folder, "down", "-t", "0")
    _compose(project, folder, "up", "-d")
    client = redis.Redis(port=_until(lambda: _published(project, folder, "redis", 6379)), socket_timeout=5)
    _until(client.ping)
    assert client.get("bench:probe") == b"1"


def _web_work(project: str, folder: Path) -> None:
    url = f"http://127.0.0.1:{_until(lambda: _published(project, folder, 'web', 5000))}/"
    for _ in range(3):
        _until(lambda: requests.get(url, timeout=5).raise_for_status())
    _compose(project, folder, "restart", "-t", "0", "web")
    url = f"http://127.0.0.1:{_until(lambda: _published(project, folder, 'web', 5000))}/"
    _until(lambda: requests.get(url, timeout=5).raise_for_status())


# Python as users run it caches compiled modules; a PYTHONDONTWRITEBYTECODE=1 in the bench's own
# environment (this machine's shell sets it) would make every run compile the grader from source.
GRADER_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def grader_once(sample: Path, *extra: str) -> tuple[float, dict]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(sample), "--json", "-", "--no-html",
                           *extra], capture_output=True, text=True, timeout=900, env=GRADER_ENV)
    elapsed = time.monotonic() - started
    return elapsed, json.loads(done.stdout)


def bench_sample(name: str, rounds: int) -> tuple[float, float, dict]:
    sample = SAMPLES / name
    floors, graders = [], []
    try:
        floor_once(sample), grader_once(sample)  # warm the build cache for both
        for index in range(rounds):
            pair = [lambda: floors.append(floor_once(sample)), lambda: graders.append(grader_once(sample)[0])]
            for run in (pair if index % 2 == 0 else pair[::-1]):
                run()
    finally:
        remove_floor_images(sample)
    _, result = grader_once(sample)
    statuses = {check["id"]: check["status"] for check in result["checks"]}
    return statistics.median(graders), statistics.median(floors), statuses


def _timed(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
           terminal: bool = False) -> float:
    """Seconds ``argv`` takes, its output read from a pipe or, with ``terminal``, from a pseudo-terminal
    (as a student sees it: rich colours and lays out for a terminal)."""
    started = time.monotonic()
    if terminal:
        _on_terminal(argv, cwd, env or GRADER_ENV)
    else:
        subprocess.run(argv, capture_output=True, timeout=900, env=env or GRADER_ENV, check=True, cwd=cwd)
    return time.monotonic() - started


def _on_terminal(argv: list[str], cwd: Path | None, env: dict[str, str]) -> None:
    controller, terminal = pty.openpty()
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal, cwd=cwd, env=env):
        os.close(terminal)
        try:
            while os.read(controller, 65536):  # drained, so the command never waits on a full terminal
                pass
        except OSError:  # EIO: the command closed the terminal
            pass
        finally:
            os.close(controller)


# What any static grading must pay on this machine, measured beside it: Python starting, a Python
# process that only imports the libraries the grader is built on, and Compose reading the sample's
# files (the plugin binary, called as the grader calls it).
LIBRARIES = "import click, rich.console, jinja2, ruamel.yaml"


def grader_static_runs(label: str, sample: Path, out: Path, code: Path) -> dict[str, Callable[[], float]]:
    """`grader check --static` of the code in ``code`` (this checkout or an exported revision), as a
    script reads it and as a student on a terminal sees it."""
    grader = [sys.executable, "-m", "grader.cli", "check", str(sample), "--static"]
    env = {**GRADER_ENV, "PYTHONPATH": str(code)}  # run from ``code``: python -m puts the cwd first
    return {
        f"{label}: --json - --no-html": lambda: _timed([*grader, "--json", "-", "--no-html"], code, env),
        f"{label}: HTML report, output to a pipe": lambda: _timed([*grader, "--out", str(out)], code, env),
        f"{label}: HTML report, on a terminal": lambda: _timed([*grader, "--out", str(out)], code, env, True),
    }


def floor_static_runs(sample: Path) -> dict[str, Callable[[], float]]:
    from grader.docker.compose import detect_cli

    return {
        "python -c pass": lambda: _timed([sys.executable, "-c", "pass"]),
        f"python -c '{LIBRARIES}'": lambda: _timed([sys.executable, "-c", LIBRARIES]),
        "docker compose --profile '*' config --format json": lambda: _timed(
            [*detect_cli().base, "--profile", "*", "config", "--format", "json"], cwd=sample),
    }


def static_report(sample: Path, rounds: int, against: str | None) -> None:
    """Each round runs every command once, in a rotating order; medians and minimums per command."""
    with tempfile.TemporaryDirectory(prefix="bench-static-") as tmp:
        runs = grader_static_runs("grader check --static", sample, Path(tmp), REPO)
        if against:
            old_code = export_revision(against, Path(tmp, "revision"))
            runs.update(grader_static_runs(f"{against} --static", sample, Path(tmp), old_code))
        runs.update(floor_static_runs(sample))
        for once in runs.values():
            once()  # warm: compiled modules and templates cached
        times: dict[str, list[float]] = {label: [] for label in runs}
        labels = list(runs)
        for index in range(rounds):
            for label in labels[index % len(labels):] + labels[:index % len(labels)]:
                times[label].append(runs[label]())
    print(f"static grading of {sample.name}, {rounds} rounds:")
    for label, measured in times.items():
        print(f"  median {statistics.median(measured):.3f} s  (min {min(measured):.3f} s)  {label}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", nargs="+", default=["perfect", "redis_only", "wrong_port"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--static", action="store_true", help="time static `grader check` only")
    parser.add_argument("--against", metavar="REV", help="with --static: also time the grader of git revision REV")
    parser.add_argument("--floor-plugin", action="store_true",
                        help="the floor calls the Compose plugin binary directly, as the grader does")
    args = parser.parse_args()
    if args.floor_plugin:
        from grader.docker.compose import detect_cli

        COMPOSE[:] = list(detect_cli().base)
    if args.static:
        static_report(SAMPLES / args.samples[0], args.rounds, args.against)
        return
    print(f"{'sample':<14} {'grader check':>13} {'fast floor':>11} {'ratio':>7}   (medians of {args.rounds} pairs)")
    for name in args.samples:
        grader, floor, statuses = bench_sample(name, args.rounds)
        passed = sum(status == "passed" for status in statuses.values())
        print(f"{name:<14} {grader:>12.2f}s {floor:>10.2f}s {grader / floor:>6.2f}x   "
              f"({passed}/{len(statuses)} checks passed)")


if __name__ == "__main__":
    main()
