"""Render one student's grading as a single self-contained HTML page.

The input is a :class:`~grader.results.GradeResult`, or the public JSON contract it writes
(``GradeResult.to_dict()``), so a report can be re-rendered later from a saved ``--json`` file.
The page is the student's: checks they are not shown (grader/report/visibility.py) are one
line, "other checks", with their points. A batch heads it with the student's name
(``heading``); ``grader check`` adds what changed since the last run (``since``).
Everything the student controls (names, messages, logs) goes through Jinja2 autoescaping; the
page has inline CSS only, and references no fonts, scripts, images or any other network resource.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.report.attempts import Changes
from grader.report.annotations import annotate
from grader.report.evidence_view import live_evidence_view
from grader.report.page import STATUS_ICONS, STATUS_LABELS, environment
from grader.report.visibility import student_view, withheld_text
from grader.results import CheckResult, GradeResult, Location, Status

TEMPLATE_NAME = "report.html.j2"

MODE_LABELS = {
    "full": "Full grading: static checks and live checks against the running stack",
    "static": "Static checks only: the stack was not started",
    "live": "Live checks only",
}


@dataclass(frozen=True)
class CheckCard:
    """One check as its card shows it."""

    id: str
    title: str
    status: str
    status_label: str
    status_icon: str
    bonus: bool
    points: float
    max_points: float
    duration_s: float
    message: str
    show_diagnosis: bool
    expected: str | None
    found: str | None
    location: Location | None
    hint: str | None
    details: str | None

    @classmethod
    def of(cls, check: CheckResult) -> CheckCard:
        status = check.status.value
        return cls(check.id, check.title, status, STATUS_LABELS[status], STATUS_ICONS[status], check.bonus,
                   check.points, check.max_points, check.duration_s, check.message,
                   check.status in (Status.FAILED, Status.ERROR), check.expected, check.found, check.location,
                   check.hint, check.details)


@dataclass(frozen=True)
class Heading:
    """Who the report is for, when more is known than the folder's name (a roster, an LMS download)."""

    title: str            # the student's (or group's) name
    subtitle: str = ""    # their ids, late, group: one line


def _view(value: GradeResult | Mapping[str, Any], show_after_due: bool = False, heading: Heading | None = None,
          since: Changes | None = None) -> dict[str, Any]:
    """What the template shows of one grading: the checks its student is shown."""
    view = student_view(value, show_after_due)
    result = view.result
    return {
        "title": heading.title if heading else result.submission or "(unnamed submission)",
        "subtitle": heading.subtitle if heading else "",
        "withheld": withheld_text(view.withheld, view.due) if view.withheld else "",
        "since": since,
        "submission": result.submission or "(unnamed submission)",
        "score": result.score,
        "max_score": result.max_score,
        "passed": result.passed,
        "bonus_earned": result.bonus_points,
        "checks": [CheckCard.of(check) for check in result.checks],
        "counts": result.tally(),
        "status_icons": STATUS_ICONS,
        "grader_version": result.grader_version,
        "started_at": result.started_at,
        "duration_s": result.duration_s,
        "mode": result.mode,
        "mode_label": MODE_LABELS.get(result.mode, result.mode),
        "notice": result.notice,
        "compose_file": result.compose_file,
        "services": {"redis": result.services.get("redis"), "web": result.services.get("web")},
        "policy": result.policy,
        "ignored": result.ignored,
        "screenshots": result.evidence.screenshots,
        "screenshot_decided": next((check.screenshot for check in result.checks if check.screenshot), None),
        "annotated": annotate(result),
        "live_evidence": live_evidence_view(result.evidence),
    }


def render_html(result: GradeResult | Mapping[str, Any], *, show_after_due: bool = False,
                heading: Heading | None = None, since: Changes | None = None) -> str:
    """Return the report page for one grading (or its ``GradeResult.to_dict()``) as an HTML string."""
    return environment().get_template(TEMPLATE_NAME).render(**_view(result, show_after_due, heading, since))


def write_html(result: GradeResult | Mapping[str, Any], path: Path, *, show_after_due: bool = False,
               since: Changes | None = None) -> Path:
    """Render the report and write it (UTF-8) to ``path``; parent dirs are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result, show_after_due=show_after_due, since=since), encoding="utf-8")
    return path
