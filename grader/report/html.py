"""Render one student's grading as a single self-contained HTML page.

The input is the public JSON contract, ``GradeResult.to_dict()``, so a report can
be re-rendered later from a saved ``--json`` file. Everything the student controls
(names, messages, logs) goes through Jinja2 autoescaping; the page has inline CSS
only, and references no fonts, scripts, images or any other network resource.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE_NAME = "report.html.j2"

STATUS_LABELS = {
    "passed": "Passed",
    "failed": "Failed",
    "skipped": "Skipped",
    "error": "Error",
}
STATUS_ICONS = {"passed": "\u2713", "failed": "\u2717", "skipped": "\u2013", "error": "!"}

MODE_LABELS = {
    "full": "Full grading: static checks and live checks against the running stack",
    "static": "Static checks only: the stack was not started",
    "live": "Live checks only",
}


def _num(value: Any) -> str:
    """Format points: ``10.0`` -> ``10``, ``2.5`` -> ``2.5``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "0" if value is None else str(value)
    if number.is_integer():
        return str(int(number))
    return f"{number:.2f}".rstrip("0").rstrip(".")


def _where(location: Any) -> str:
    if not location:
        return ""
    file = location.get("file") or ""
    line = location.get("line")
    return f"{file}:{line}" if line not in (None, "") else str(file)


_BACKTICKS = re.compile(r"`([^`\n]+)`")


def _prose(text: Any) -> Markup:
    """Escape ``text``, then show `backticked` spans as ``<code>``.

    Escaping happens first, so the only markup in the result is the ``<code>``
    tags added here: student-controlled text can never inject HTML.
    """
    escaped = str(escape("" if text is None else text))
    return Markup(_BACKTICKS.sub(r"<code>\1</code>", escaped))


def _seconds(value: Any) -> str:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s"


@functools.lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATE_DIR)),
        # Always escape, whatever the template's extension (.j2 included).
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _num
    env.filters["where"] = _where
    env.filters["seconds"] = _seconds
    env.filters["prose"] = _prose
    return env


def _view(result: dict[str, Any]) -> dict[str, Any]:
    """Normalise the result dict (tolerating missing optional fields) for the template."""
    checks = []
    counts = {status: 0 for status in STATUS_LABELS}
    bonus_earned = 0.0
    for raw in result.get("checks") or []:
        check = dict(raw)
        status = str(check.get("status") or "error")
        if status not in STATUS_LABELS:
            status = "error"
        check["status"] = status
        check["status_label"] = STATUS_LABELS[status]
        check["status_icon"] = STATUS_ICONS[status]
        for key in ("title", "message", "hint", "expected", "found", "details", "location"):
            check.setdefault(key, None)
        check.setdefault("points", 0)
        check.setdefault("max_points", 0)
        check["bonus"] = bool(check.get("bonus"))
        check["show_diagnosis"] = status in ("failed", "error")
        counts[status] += 1
        if check["bonus"]:
            try:
                bonus_earned += float(check.get("points") or 0)
            except (TypeError, ValueError):
                pass
        checks.append(check)

    mode = result.get("mode") or "full"
    services = result.get("services") or {}
    return {
        "submission": result.get("submission") or "(unnamed submission)",
        "score": result.get("score", 0),
        "max_score": result.get("max_score", 0),
        "passed": bool(result.get("passed")),
        "bonus_earned": bonus_earned,
        "checks": checks,
        "counts": counts,
        "status_icons": STATUS_ICONS,
        "grader_version": result.get("grader_version") or "",
        "started_at": result.get("started_at") or "",
        "duration_s": result.get("duration_s"),
        "mode": mode,
        "mode_label": MODE_LABELS.get(mode, mode),
        "notice": result.get("notice"),
        "compose_file": result.get("compose_file"),
        "services": {"redis": services.get("redis"), "web": services.get("web")},
        "policy": list(result.get("policy") or []),
        "ignored": list(result.get("ignored") or []),
    }


def render_html(result: dict[str, Any]) -> str:
    """Return the report page for one ``GradeResult.to_dict()`` as an HTML string."""
    template = _environment().get_template(TEMPLATE_NAME)
    return template.render(**_view(result))


def write_html(result: dict[str, Any], path: Path) -> Path:
    """Render the report and write it (UTF-8) to ``path``; parent dirs are created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path
