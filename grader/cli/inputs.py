"""The files a command is pointed at, read before anything runs: a bad one is click's usage error
(exit 2, one clear line), never a traceback."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from grader.policy import RULES
from grader.rubric import Rubric, RubricError, load_rubric

if TYPE_CHECKING:
    from grader.batch.roster import Roster


def read_rubric(path: Path | None) -> Rubric:
    """The rubric at ``path`` (the default one without), its `policy.allow` checked against the rules."""
    try:
        return load_rubric(path, known_rules=frozenset(RULES))
    except RubricError as exc:
        raise click.UsageError(str(exc)) from exc


def without_evidence(rubric: Rubric, no_evidence: bool) -> Rubric:
    """The rubric with evidence off when ``--no-evidence`` was given (it travels with the rubric, to
    a batch's gradings and its queue workers alike)."""
    return replace(rubric, limits=replace(rubric.limits, evidence=False)) if no_evidence else rubric


def read_roster(path: Path | None) -> Roster | None:
    from grader.batch.roster import Roster, RosterError  # only `grader batch` reads a roster

    try:
        return Roster.load(path) if path else None
    except RosterError as exc:
        raise click.UsageError(str(exc)) from exc


class JobsParam(click.ParamType):
    """``-j``: a number of gradings at once, or ``auto`` for what this machine can hold."""

    name = "jobs"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        text = str(value).strip().lower()
        if text == "auto":
            from grader.batch.machine import default_jobs
            return default_jobs()
        if text.isdigit() and int(text) >= 1:
            return int(text)
        self.fail(f"{value!r} is neither a positive whole number nor 'auto'.", param, ctx)


JOBS = JobsParam()
