"""The files a command is pointed at, read before anything runs: a bad one is click's usage error
(exit 2, one clear line), never a traceback."""
from __future__ import annotations

from pathlib import Path

import click

from grader.batch.roster import Roster, RosterError
from grader.policy import RULES
from grader.rubric import Rubric, RubricError, load_rubric


def read_rubric(path: Path | None) -> Rubric:
    """The rubric at ``path`` (the default one without), its `policy.allow` checked against the rules."""
    try:
        return load_rubric(path, known_rules=frozenset(RULES))
    except RubricError as exc:
        raise click.UsageError(str(exc)) from exc


def read_roster(path: Path | None) -> Roster | None:
    try:
        return Roster.load(path) if path else None
    except RosterError as exc:
        raise click.UsageError(str(exc)) from exc
