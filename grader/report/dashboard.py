"""The class dashboard, ``index.html``: every student's score and check-by-check matrix.

Rendered from the batch's entries (:mod:`grader.report.entry`). Self-contained: inline CSS, a few
lines of inline JavaScript for sorting, and the charts as inline SVG computed here; no fonts,
images or any other network resource. Jinja2 autoescaping is always on, so names, folder names
and messages from students can never inject markup.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from grader.report.gallery import gallery
from grader.report.entry import Column, Entry, check_columns, max_score
from grader.report.page import STATUS_ICONS, STATUS_LABELS, environment
from grader.results import CheckResult, Status, points_text
from grader.version import __version__

TEMPLATE_NAME = "dashboard.html.j2"
STATE_LABELS = {"refused": "Refused", "error": "Error", "passed": "Passed", "failed": "Not passed", "missing": "Missing"}
_STATE_RANK = {"refused": 0, "error": 1, "failed": 2, "passed": 2}
_STATUS_RANK = {"passed": 3, "skipped": 2, "failed": 1, "error": 0}
_GRADED = ("passed", "failed", "refused", "error")


# The histogram --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Frame:
    """The histogram's drawing area, in SVG units."""

    width: int = 640
    height: int = 250
    left: int = 40
    right: int = 12
    top: int = 30
    bottom: int = 44

    @property
    def plot_w(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> int:
        return self.height - self.top - self.bottom


def _nice_step(largest: int, ticks: int = 5) -> int:
    if largest <= ticks:
        return 1
    raw = largest / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return int(next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= raw))


def _bins(scores: list[float], top: float) -> tuple[list[tuple[float, float]], list[str], list[int]]:
    """(low, high) of each bin, its label, and how many scores fall in it: a bin per whole point up
    to 30 points, else ten equal bins."""
    if top <= 30:
        edges = [(float(low), float(low + 1)) for low in range(int(math.ceil(top)) + 1)]
        labels = [str(low) for low in range(len(edges))]
    else:
        width = top / 10
        edges = [(index * width, (index + 1) * width) for index in range(10)]
        labels = [f"{points_text(low)}–{points_text(high)}" for low, high in edges]
    counts = [0] * len(edges)
    for score in scores:
        counts[next((i for i, (low, high) in enumerate(edges) if low <= score < high), len(edges) - 1)] += 1
    return edges, labels, counts


def _bars(edges: list[tuple[float, float]], labels: list[str], counts: list[int], max_score: float,
          y_max: float, per_point: bool) -> list[dict[str, Any]]:
    frame = _Frame()
    slot = frame.plot_w / len(edges)
    gap = min(6.0, slot * 0.2)
    label_every = 1 if len(edges) <= 20 else 2
    bars = []
    for index, ((low, high), count) in enumerate(zip(edges, counts)):
        bar_h = frame.plot_h * count / y_max
        bars.append({
            "x": round(frame.left + index * slot + gap / 2, 2), "y": round(frame.top + frame.plot_h - bar_h, 2),
            "w": round(slot - gap, 2), "h": round(bar_h, 2), "count": count,
            "cx": round(frame.left + index * slot + slot / 2, 2), "label": labels[index],
            "show_label": index % label_every == 0 or index == len(edges) - 1,
            "full": low >= max_score > 0,
            "title": f"{count} student(s) scored {labels[index]}" if per_point else
                     f"{count} student(s) scored from {points_text(low)} to under {points_text(high)}",
        })
    return bars


def _marker(edges: list[tuple[float, float]], max_score: float) -> dict[str, Any] | None:
    """Where the maximum score is, when a bin starts at it."""
    position = next((i for i, (low, _high) in enumerate(edges) if low >= max_score), None) if max_score > 0 else None
    if position is None:
        return None
    frame = _Frame()
    slot = frame.plot_w / len(edges)
    return {"x": round(frame.left + position * slot, 2), "label": f"max {points_text(max_score)}"}


def histogram(scores: list[float], max_score: float, top: float) -> dict[str, Any]:
    """Bars of an SVG histogram: one per whole point up to 30 points, else ten equal bins."""
    top = max(top, max_score, max(scores, default=0), 1)
    edges, labels, counts = _bins(scores, top)
    frame = _Frame()
    highest = max(max(counts, default=0), 1)
    step = _nice_step(highest)
    y_max = max(step * math.ceil(highest / step), 1)
    ticks = [{"y": round(frame.top + frame.plot_h - frame.plot_h * value / y_max, 2), "value": value}
             for value in range(0, int(y_max) + 1, step)]
    return {"width": frame.width, "height": frame.height, "left": frame.left, "right": frame.width - frame.right,
            "top": frame.top, "base": frame.top + frame.plot_h, "bars": _bars(edges, labels, counts, max_score, y_max,
                                                                              top <= 30),
            "ticks": ticks, "marker": _marker(edges, max_score), "axis_y": frame.height - 8, "empty": not scores}


def pass_rates(columns: list[Column], submissions: Sequence[Entry]) -> dict[str, Any]:
    """Horizontal bars: the share of submissions passing each check."""
    label_w, bar_w, row_h, top_pad = 175, 275, 30, 8
    rows = []
    total = len(submissions)
    for index, column in enumerate(columns):
        passed = sum(1 for entry in submissions if _status_of(entry.check(column.id)) == "passed")
        rate = passed / total if total else 0.0
        y = top_pad + index * row_h
        rows.append({
            "id": column.id, "title": column.title, "bonus": column.bonus, "passed": passed, "total": total,
            "rate": rate, "percent": round(rate * 100), "y": y, "text_y": y + row_h / 2 + 4,
            "bar_y": y + 5, "bar_h": row_h - 10, "bar_w": round(bar_w * rate, 2),
            "level": "good" if rate >= 0.8 else "fair" if rate >= 0.5 else "poor",
        })
    return {"rows": rows, "label_w": label_w, "bar_w": bar_w, "width": label_w + bar_w + 100,
            "height": top_pad * 2 + row_h * len(columns), "text_x": label_w + bar_w + 10}


# The table --------------------------------------------------------------------------------------------

def _status_of(check: CheckResult | None) -> str:
    return check.status.value if check else "none"


def _cell(column: Column, check: CheckResult | None) -> dict[str, Any]:
    status = _status_of(check)
    tip = f"{column.id}: {STATUS_LABELS.get(status, 'not graded')}"
    if check:
        tip += f", {points_text(check.points)}/{points_text(check.max_points)}"
        tip += f" — {check.message}" if check.message else ""
    screenshot = check.screenshot if check else None
    tip += f" (decided by the student's screenshot {screenshot}: look at it)" if screenshot else ""
    return {"status": status, "icon": STATUS_ICONS.get(status, "·"), "rank": _STATUS_RANK.get(status, -1), "tip": tip,
            "screenshot": screenshot}


def _reasons(entry: Entry) -> list[str]:
    """Why a submission needs attention: the rules it broke, the grader's error, each errored check."""
    policy = entry.result.policy if entry.result else []
    reasons = [violation.message or violation.rule for violation in policy]
    if entry.error:
        reasons.append(entry.error)
    else:
        reasons += [f"{check.id}: {check.message}" for check in entry.checks if check.status is Status.ERROR]
    return [reason for reason in reasons if reason]


def _row(entry: Entry, columns: list[Column], roster_used: bool) -> dict[str, Any]:
    assert entry.result is not None, "a row is a submission"
    state = entry.state
    score, row_max = float(entry.result.score), float(entry.result.max_score)
    return {
        "id": entry.id, "name": entry.name, "submission": entry.submission, "github": entry.github,
        "state": state, "state_label": STATE_LABELS[state], "state_rank": _STATE_RANK.get(state, 3),
        "score": score, "max": row_max, "percent": round(100 * score / row_max) if row_max else 0,
        "href": quote(entry.batch.report or ""), "cells": [_cell(column, entry.check(column.id)) for column in columns],
        "reasons": _reasons(entry), "unmatched": roster_used and not entry.student,
        "mode": entry.result.mode, "duration": entry.result.duration_s, **_lms_marks(entry),
    }


def _lms_marks(entry: Entry) -> dict[str, Any]:
    """What the row says of an LMS student: which LMS and ids, and whether late, anonymous or a group."""
    identity = entry.lms.identity if entry.lms else None
    return {"lms_label": entry.lms.label if entry.lms else "", "late": bool(identity and identity.late),
            "anonymous": bool(identity and identity.anonymous), "group": identity.group if identity else ""}


def _stats(rows: list[dict[str, Any]], on_roster: int | None, missing: int) -> dict[str, Any]:
    scores = [row["score"] for row in rows]
    return {
        "submissions": len(rows), "roster": on_roster,
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "low": min(scores) if scores else None, "high": max(scores) if scores else None,
        "missing": missing, **{state: sum(1 for row in rows if row["state"] == state) for state in _GRADED},
    }


def dashboard_view(entries: Sequence[Entry], notes: dict[str, Any] | None = None) -> dict[str, Any]:
    notes = dict(notes or {})
    columns = check_columns(entries)
    submissions = [entry for entry in entries if not entry.missing]
    missing = sorted((entry for entry in entries if entry.missing), key=Entry.sort_key)
    roster_used = bool(missing) or any(entry.student for entry in submissions) or bool(notes.get("roster"))
    maximum = max_score(entries)
    bonus_total = sum(column.max_points for column in columns if column.bonus)
    ordered = sorted(((entry, _row(entry, columns, roster_used)) for entry in submissions),
                     key=lambda pair: (pair[1]["state_rank"], (pair[1]["name"] or pair[1]["id"]).casefold(),
                                       pair[1]["submission"]))
    rows = [row for _, row in ordered]
    on_roster = len({entry.id for entry in submissions if entry.student}) + len(missing) if roster_used else None
    return {
        "title": notes.pop("title", None) or "Class results",
        "generated_at": notes.pop("generated_at", None) or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "grader_version": __version__,
        "columns": columns, "rows": rows, "attention": [row for row in rows if row["state"] in ("refused", "error")],
        "missing": [{"id": entry.id, "name": entry.name, "github": entry.github} for entry in missing],
        "roster_used": roster_used, "stats": _stats(rows, on_roster, len(missing)), "max_score": maximum,
        "bonus_total": bonus_total,
        "histogram": histogram([row["score"] for row in rows], maximum, maximum + bonus_total),
        "pass_rates": pass_rates(columns, submissions),
        "stopped": list(notes.pop("stopped", []) or []),
        "duplicates": dict(notes.pop("duplicates", {}) or {}),
        "roster_source": notes.pop("roster", None),
        "gallery": gallery([(entry, row["href"]) for entry, row in ordered]),
    }


def render_dashboard(entries: Sequence[Entry], notes: dict[str, Any] | None = None) -> str:
    return environment().get_template(TEMPLATE_NAME).render(**dashboard_view(entries, notes))


def write_dashboard(entries: Sequence[Entry], path: Path, notes: dict[str, Any] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_dashboard(entries, notes), encoding="utf-8")
    return path
