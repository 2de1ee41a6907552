"""Running both sides on every generated folder, and comparing them.

The grader side calls only the public API, ``grader.grade(folder, mode="static")``, in worker
processes (a grading runs pytest in-process, so each worker grades one folder at a time);
the Compose side runs `docker compose config` in threads. Neither needs a Docker engine.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import re
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.differential.generator import Case
from tests.differential.oracle import (
    STATIC_CHECKS,
    ComposeVerdict,
    Expected,
    compose_config,
    expected_statuses,
)

TEMP_MARK = "grader-ws-"          # the grader's private copy: never shown to a student
TEXT_FIELDS = ("message", "hint", "found", "expected", "details")


@dataclass
class Outcome:
    case: Case
    verdict: ComposeVerdict
    graded: dict[str, Any]        # GradeResult.to_dict()

    @property
    def expected(self) -> dict[str, Expected]:
        return expected_statuses(self.verdict, self.case.service_order)

    def check(self, check_id: str) -> dict[str, Any]:
        return next((c for c in self.graded["checks"] if c["id"] == check_id), {"status": "missing"})


_graded_in_this_process = 0


def grade_static(folder: str) -> dict[str, Any]:
    """One static grading through the public API (runs in a worker process)."""
    global _graded_in_this_process
    import grader  # imported here: in a spawned worker, after sys.path is set up
    result = grader.grade(folder, mode="static").to_dict()
    _graded_in_this_process += 1
    if _graded_in_this_process == 1:
        # Each grading's pytest session ends with several full gc.collect() passes, which walk
        # every object the worker holds: freezing what the first grading imported halves the time.
        gc.collect()
        gc.freeze()
    return result


def run_all(cases: list[Case], workers: int | None = None) -> dict[str, Outcome]:
    # One more grader than cores: a grading spends part of its time waiting for `docker compose`.
    workers = workers or (os.cpu_count() or 2) + 1
    context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
    with ProcessPoolExecutor(workers, mp_context=context) as graders, ThreadPoolExecutor(2) as composes:
        graded: dict[str, Future[dict[str, Any]]] = {c.id: graders.submit(grade_static, str(c.path)) for c in cases}
        verdicts = {c.id: composes.submit(compose_config, c.path) for c in cases}
        return {c.id: Outcome(c, verdicts[c.id].result(), graded[c.id].result()) for c in cases}


# Comparing -------------------------------------------------------------------------------------

def _line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") + 1  # also right for UTF-16, whose "\n" holds a 0x0A byte


def location_problem(location: dict[str, Any] | None, folder: Path) -> str | None:
    """A location must name a file of the submission, at a line that file has."""
    if not location:
        return None
    path = folder / location["file"]
    if not path.is_file() or path.is_symlink():
        return f"location {location['file']}:{location['line']} names no file of the submission"
    if not 1 <= location["line"] <= _line_count(path):
        return f"location {location['file']}:{location['line']} is past the end of that file"
    return None


def blamed_by_compose(verdict: ComposeVerdict, folder: Path) -> tuple[str, int | None] | None:
    """The file (and line) of the submission that Compose's own error message names, if any."""
    match = re.search(re.escape(str(folder.resolve())) + r"/([^\s:]+)(?::\s*line (\d+))?", verdict.error)
    if not match:
        return None
    return match.group(1), int(match.group(2)) if match.group(2) else None


def compose_file_location_problem(outcome: Outcome) -> str | None:
    """When Compose names the file at fault, the grader's compose-file failure must point there."""
    blamed = blamed_by_compose(outcome.verdict, outcome.case.path) if not outcome.verdict.accepted else None
    got = outcome.check("compose-file")
    if blamed is None or got["status"] != "failed":
        return None
    file, line = blamed
    shown = f"{file}:{line}" if line else file
    location = got.get("location")
    if not location:
        return f"compose-file: Compose names {shown}, the grader gives no location"
    if location["file"] != file or (line and location["line"] != line):
        return f"compose-file: Compose names {shown}, the grader says {location['file']}:{location['line']}"
    return None


def disagreements(outcome: Outcome) -> list[str]:
    problems = [p for p in [compose_file_location_problem(outcome)] if p]
    for check_id, expected in outcome.expected.items():
        got = outcome.check(check_id)
        if got["status"] != expected.status:
            problems.append(f"{check_id}: Compose/rubric say {expected.status}, the grader says {got['status']}")
        where = location_problem(got.get("location"), outcome.case.path)
        if where:
            problems.append(f"{check_id}: {where}")
        leaked = [f for f in TEXT_FIELDS if TEMP_MARK in str(got.get(f) or "")]
        if leaked:
            problems.append(f"{check_id}: the grader's temporary path shows in {', '.join(leaked)}")
    return problems


def explain(outcome: Outcome, problems: list[str]) -> str:
    """The failure message: the variation, Compose's verdict, the oracle's and the grader's."""
    case = outcome.case
    lines = [f"variation {case.id}", f"  {case.description}", f"  folder: {case.folder}",
             f"Compose: {outcome.verdict.summary()}", "disagreements:"] + [f"  - {p}" for p in problems]
    lines.append("per check (oracle | grader):")
    for check_id in STATIC_CHECKS:
        expected, got = outcome.expected[check_id], outcome.check(check_id)
        where = got.get("location")
        at = f" at {where['file']}:{where['line']}" if where else ""
        lines.append(f"  {check_id}: {expected.status} ({expected.why})")
        lines.append(f"  {' ' * len(check_id)}  grader {got['status']}{at}: {got.get('message', '')}")
        if got.get("hint"):
            lines.append(f"  {' ' * len(check_id)}  hint: {got['hint']}")
    if outcome.graded.get("policy"):
        lines.append("grader's policy: " + ", ".join(v["rule"] for v in outcome.graded["policy"]))
    return "\n".join(lines)
