"""The Markdown summary: what ``$GITHUB_STEP_SUMMARY`` and ``--markdown FILE`` show.

Per submission: a heading with the score, a table ``check | status | points``, then for
every failed (or errored) check what is wrong and how to fix it.

Everything a student controls is escaped for GitHub-flavoured Markdown: in prose, ASCII
punctuation that Markdown or HTML would act on is backslash-escaped (``backticked`` spans
that the grader's own messages use stay code spans); values (expected, found, where) are
code spans with a fence longer than any run of backticks inside them; multi-line evidence
goes into fenced blocks. In table cells ``|`` is escaped and newlines become ``<br>``.
"""
from __future__ import annotations

import re
from typing import Any

from grader.report.formats import (
    counts,
    diagnosis,
    num,
    points_label,
    score_line,
    status_of,
    unicode_safe,
)

STATUS_CELLS = {"passed": "✅ passed", "failed": "❌ failed", "skipped": "➖ skipped", "error": "⚠️ error"}
LABELS = {"expected": "Expected", "found": "Found", "where": "Where", "fix": "How to fix"}

_BACKTICKED = re.compile(r"`([^`\n]+)`")
# ASCII punctuation that can start or end Markdown or HTML constructs in running text (links,
# emphasis, HTML tags and entities, autolinks, emoji shortcodes). Prose never starts a line, so
# line-start syntax (#, -, +, 1.) cannot occur.
_SPECIAL = re.compile(r"([\\`*_\[\]<>#|~&:@])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean(text: Any) -> str:
    return _CONTROL.sub("", unicode_safe("" if text is None else str(text))).replace("\r\n", "\n").replace("\r", "\n")


def _escape_plain(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def code(text: Any) -> str:
    """``text`` as an inline code span, whatever backticks it holds (newlines become spaces)."""
    text = _clean(text).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def prose(text: Any) -> str:
    """Student-influenced prose: Markdown specials escaped, `code spans` kept, lines joined by <br>."""
    out = []
    for line in _clean(text).split("\n"):
        pieces, last = [], 0
        for match in _BACKTICKED.finditer(line):
            pieces.append(_escape_plain(line[last:match.start()]))
            pieces.append(code(match.group(1)))
            last = match.end()
        pieces.append(_escape_plain(line[last:]))
        out.append("".join(pieces))
    return "<br>".join(out)


def cell(text: str) -> str:
    """Make already-escaped Markdown safe inside a table cell."""
    return text.replace("\n", "<br>").replace("|", "\\|")


def _block(text: Any, indent: str = "  ") -> list[str]:
    text = _clean(text).rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [indent + fence] + [indent + line for line in text.split("\n")] + [indent + fence]


def _submission(result: dict[str, Any], level: int) -> list[str]:
    checks = list(result.get("checks") or [])
    passed = bool(result.get("passed"))
    mark = "✅" if passed else "❌"
    name = prose(result.get("submission") or "submission")
    lines = [f"{'#' * level} {mark} {name}: {num(result.get('score'))} / {num(result.get('max_score'))}", ""]
    tally = counts(checks)
    parts = [f"{tally[s]} {s}" for s in ("passed", "failed", "skipped", "error") if tally[s]]
    verdict = "every required check passed" if passed else "not every required check passed"
    lines.append(f"**{score_line(result)}**: {verdict} ({', '.join(parts) or 'no checks'}).")
    if result.get("mode") and result.get("mode") != "full":
        lines.append(f"Mode: {prose(result['mode'])}.")
    if result.get("notice"):
        lines += ["", f"> {prose(result['notice'])}"]
    for violation in result.get("policy") or []:
        lines += ["", f"> **Refused by the safety policy:** {prose(violation.get('message') or violation.get('rule'))}"]
    lines += ["", "| check | status | points |", "|---|---|---:|"]
    for check in checks:
        title = prose(check.get("title") or check.get("id") or "check")
        label = f"{title} ({code(check.get('id') or '')})"
        lines.append(f"| {cell(label)} | {STATUS_CELLS[status_of(check)]} | {cell(points_label(check))} |")
    failing = [check for check in checks if status_of(check) in ("failed", "error")]
    if failing:
        lines += ["", f"{'#' * (level + 1)} What to fix", ""]
        for check in failing:
            kind = "grader error (not your fault: ask for a regrade)" if status_of(check) == "error" else "failed"
            lines.append(f"- **{prose(check.get('title') or check.get('id'))}** ({code(check.get('id') or '')}, {kind}): "
                         f"{prose(check.get('message') or '')}")
            for label, text in diagnosis(check):
                value = prose(text) if label == "fix" else code(text)
                lines.append(f"  - {LABELS[label]}: {value}")
            if check.get("details"):
                lines += ["  <details><summary>Details</summary>", ""] + _block(check["details"]) + ["", "  </details>"]
    return lines


def to_markdown(results: list[dict[str, Any]], level: int = 2) -> str:
    """The summary of one or more gradings (each a ``GradeResult.to_dict()``)."""
    lines: list[str] = []
    for result in results:
        if lines:
            lines.append("")
        lines += _submission(result, level)
    return "\n".join(lines) + "\n"
