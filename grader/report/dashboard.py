"""The class dashboard, ``index.html``: every student's score and check-by-check matrix.

Rendered from the batch's results list (see :mod:`grader.report.gradebook`). Self-contained: inline
CSS, a few lines of inline JavaScript for sorting, and the charts as inline SVG computed
here; no fonts, images or any other network resource. Jinja2 autoescaping is always on,
so names, folder names and messages from students can never inject markup.
"""
from __future__ import annotations

import math
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from grader.report import gradebook
from grader.report.html import STATUS_ICONS, STATUS_LABELS, TEMPLATE_DIR, _num, _seconds
from grader.version import __version__

TEMPLATE_NAME = "dashboard.html.j2"
STATE_LABELS = {"refused": "Refused", "error": "Error", "passed": "Passed", "failed": "Not passed", "missing": "Missing"}
_STATE_RANK = {"refused": 0, "error": 1, "failed": 2, "passed": 2}
_STATUS_RANK = {"passed": 3, "skipped": 2, "failed": 1, "error": 0}


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["num"] = _num
    env.filters["seconds"] = _seconds
    return env


def _float(value: Any, default: float = 0.0) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _nice_step(largest: int, ticks: int = 5) -> int:
    if largest <= ticks:
        return 1
    raw = largest / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return int(next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= raw))


def histogram(scores: list[float], max_score: float, top: float) -> dict[str, Any]:
    """Bars of an SVG histogram: one per whole point up to 30 points, else ten equal bins."""
    top = max(top, max_score, max(scores, default=0), 1)
    if top <= 30:
        edges = [(float(low), float(low + 1)) for low in range(int(math.ceil(top)) + 1)]
        labels = [str(low) for low in range(len(edges))]
    else:
        width = top / 10
        edges = [(index * width, (index + 1) * width) for index in range(10)]
        labels = [f"{_num(low)}–{_num(high)}" for low, high in edges]
    counts = [0] * len(edges)
    for score in scores:
        index = next((i for i, (low, high) in enumerate(edges) if low <= score < high), len(edges) - 1)
        counts[index] += 1
    width, height, left, right, top_pad, bottom = 640, 250, 40, 12, 30, 44
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    highest = max(counts, default=0)
    step = _nice_step(max(highest, 1))
    y_max = max(step * math.ceil(max(highest, 1) / step), 1)
    slot = plot_w / len(edges)
    gap = min(6.0, slot * 0.2)
    label_every = 1 if len(edges) <= 20 else 2
    bars = []
    for index, ((low, high), count) in enumerate(zip(edges, counts)):
        bar_h = plot_h * count / y_max
        bars.append({
            "x": round(left + index * slot + gap / 2, 2), "y": round(top_pad + plot_h - bar_h, 2),
            "w": round(slot - gap, 2), "h": round(bar_h, 2), "count": count,
            "cx": round(left + index * slot + slot / 2, 2), "label": labels[index],
            "show_label": index % label_every == 0 or index == len(edges) - 1,
            "full": low >= max_score > 0,
            "title": f"{count} student(s) scored {labels[index]}" if top <= 30 else
                     f"{count} student(s) scored from {_num(low)} to under {_num(high)}",
        })
    ticks = [{"y": round(top_pad + plot_h - plot_h * value / y_max, 2), "value": value}
             for value in range(0, int(y_max) + 1, step)]
    marker = None
    if max_score > 0:
        position = next((i for i, (low, _high) in enumerate(edges) if low >= max_score), None)
        if position is not None:
            marker = {"x": round(left + position * slot, 2), "label": f"max {_num(max_score)}"}
    return {"width": width, "height": height, "left": left, "right": width - right, "top": top_pad,
            "base": top_pad + plot_h, "bars": bars, "ticks": ticks, "marker": marker,
            "axis_y": height - 8, "empty": not scores}


def pass_rates(columns: list[gradebook.Column], submissions: list[dict[str, Any]]) -> dict[str, Any]:
    """Horizontal bars: the share of submissions passing each check."""
    label_w, bar_w, row_h, top_pad = 175, 275, 30, 8
    rows = []
    total = len(submissions)
    for index, column in enumerate(columns):
        passed = sum(1 for entry in submissions
                     if gradebook.checks_by_id(entry).get(column.id, {}).get("status") == "passed")
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


def dashboard_view(entries: list[dict[str, Any]], notes: dict[str, Any] | None = None) -> dict[str, Any]:
    notes = dict(notes or {})
    columns = gradebook.check_columns(entries)
    submissions = [entry for entry in entries if not gradebook.is_missing(entry)]
    missing = sorted((entry for entry in entries if gradebook.is_missing(entry)), key=gradebook.sort_key)
    roster_used = bool(missing) or any(entry.get("student") for entry in submissions) or bool(notes.get("roster"))
    maximum = gradebook.max_score(entries)
    bonus_total = sum(column.max_points for column in columns if column.bonus)
    rows = []
    for entry in submissions:
        state = gradebook.state(entry)
        checks = gradebook.checks_by_id(entry)
        score = _float(entry.get("score"))
        row_max = _float(entry.get("max_score"), maximum)
        cells = []
        for column in columns:
            check = checks.get(column.id)
            status = str(check.get("status")) if check else "none"
            if check and status not in STATUS_LABELS:
                status = "error"
            cells.append({
                "status": status,
                "icon": STATUS_ICONS.get(status, "·"),
                "rank": _STATUS_RANK.get(status, -1),
                "tip": (f"{column.id}: {STATUS_LABELS.get(status, 'not graded')}"
                        + (f", {_num(check.get('points'))}/{_num(check.get('max_points'))}" if check else "")
                        + (f" — {check.get('message')}" if check and check.get("message") else "")),
            })
        student = gradebook.student_of(entry)
        reasons = [str(item.get("message") or item.get("rule") or "") for item in entry.get("policy") or []]
        if entry.get("error"):
            reasons.append(str(entry["error"]))
        reasons += [f"{check.get('id')}: {check.get('message')}" for check in entry.get("checks") or []
                    if check.get("status") == "error" and not entry.get("error")]
        rows.append({
            "id": gradebook.entry_id(entry), "name": gradebook.entry_name(entry),
            "submission": str(entry.get("submission") or ""), "github": student.get("github_username") or "",
            "state": state, "state_label": STATE_LABELS[state], "state_rank": _STATE_RANK.get(state, 3),
            "score": score, "max": row_max, "percent": round(100 * score / row_max) if row_max else 0,
            "href": quote((entry.get("batch") or {}).get("report") or ""), "cells": cells,
            "reasons": [reason for reason in reasons if reason], "unmatched": roster_used and not student,
            "mode": entry.get("mode") or "", "duration": entry.get("duration_s"),
        })
    rows.sort(key=lambda row: (row["state_rank"], (row["name"] or row["id"]).casefold(), row["submission"]))
    scores = [row["score"] for row in rows]
    count = {state: sum(1 for row in rows if row["state"] == state) for state in ("passed", "failed", "refused", "error")}
    stats = {
        "submissions": len(rows),
        "roster": len({gradebook.entry_id(entry) for entry in submissions if entry.get("student")}) + len(missing)
        if roster_used else None,
        "mean": statistics.fmean(scores) if scores else None,
        "median": statistics.median(scores) if scores else None,
        "low": min(scores) if scores else None, "high": max(scores) if scores else None,
        "missing": len(missing), **count,
    }
    return {
        "title": notes.pop("title", None) or "Class results",
        "generated_at": notes.pop("generated_at", None) or datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "grader_version": __version__,
        "columns": columns, "rows": rows, "attention": [row for row in rows if row["state"] in ("refused", "error")],
        "missing": [{"id": gradebook.entry_id(entry), "name": gradebook.entry_name(entry),
                     "github": gradebook.student_of(entry).get("github_username") or ""} for entry in missing],
        "roster_used": roster_used, "stats": stats, "max_score": maximum, "bonus_total": bonus_total,
        "histogram": histogram(scores, maximum, maximum + bonus_total),
        "pass_rates": pass_rates(columns, submissions),
        "stopped": list(notes.pop("stopped", []) or []),
        "duplicates": dict(notes.pop("duplicates", {}) or {}),
        "roster_source": notes.pop("roster", None),
    }


def render_dashboard(entries: list[dict[str, Any]], notes: dict[str, Any] | None = None) -> str:
    return _environment().get_template(TEMPLATE_NAME).render(**dashboard_view(entries, notes))


def write_dashboard(entries: list[dict[str, Any]], path: Path, notes: dict[str, Any] | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_dashboard(entries, notes), encoding="utf-8")
    return path
