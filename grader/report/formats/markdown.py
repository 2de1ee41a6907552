"""The Markdown summary: what ``$GITHUB_STEP_SUMMARY`` and ``--markdown FILE`` show.

Per submission: a heading with the score, a table ``check | status | points``, then for
every failed (or errored) check what is wrong and how to fix it. Checks the student is not
shown (grader/report/visibility.py) are one row, "Other checks", with their points summed.

Everything a student controls is escaped for GitHub-flavoured Markdown: in prose, ASCII
punctuation that Markdown or HTML would act on is backslash-escaped (``backticked`` spans
that the grader's own messages use stay code spans); values (expected, found, where) are
code spans with a fence longer than any run of backticks inside them; multi-line evidence
goes into fenced blocks. In table cells ``|`` is escaped and newlines become ``<br>``.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from grader.report.formats import (
    AnyResult,
    diagnosis,
    failing,
    points_label,
    refusal,
    score_line,
    tally_text,
    unicode_safe,
)
from grader.report.visibility import OTHER_CHECKS, Withheld, student_view
from grader.results import CheckResult, GradeResult, Status, points_text

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


def _summary(result: GradeResult, level: int) -> list[str]:
    """The heading with the score, the verdict, and what the grader has to say about the whole grading."""
    mark = "✅" if result.passed else "❌"
    name = prose(result.submission or "submission")
    lines = [f"{'#' * level} {mark} {name}: {points_text(result.score)} / {points_text(result.max_score)}", ""]
    verdict = "every required check passed" if result.passed else "not every required check passed"
    lines.append(f"**{score_line(result)}**: {verdict} ({tally_text(result)}).")
    if result.mode != "full":
        lines.append(f"Mode: {prose(result.mode)}.")
    if result.notice:
        lines += ["", f"> {prose(result.notice)}"]
    for violation in result.policy:
        lines += ["", f"> **Refused by the safety policy:** {prose(refusal(violation))}"]
    return lines


def _table(result: GradeResult, withheld: Withheld | None) -> list[str]:
    lines = ["", "| check | status | points |", "|---|---|---:|"]
    for check in result.checks:
        label = f"{prose(check.title or check.id or 'check')} ({code(check.id)})"
        lines.append(f"| {cell(label)} | {STATUS_CELLS[check.status.value]} | {cell(points_label(check))} |")
    if withheld:
        status = "error" if withheld.errored else "passed" if withheld.passed else "failed"
        label = f"{OTHER_CHECKS} ({withheld.count}, not shown)"
        lines.append(f"| {label} | {STATUS_CELLS[status]} | "
                     f"{points_text(withheld.points)}/{points_text(withheld.max_points)} |")
    return lines


def _fix(check: CheckResult) -> list[str]:
    """One failed (or errored) check: what is wrong, what was expected and found, and how to fix it."""
    kind = "grader error (not your fault: ask for a regrade)" if check.status is Status.ERROR else "failed"
    lines = [f"- **{prose(check.title or check.id)}** ({code(check.id)}, {kind}): {prose(check.message)}"]
    for label, text in diagnosis(check):
        lines.append(f"  - {LABELS[label]}: {prose(text) if label == 'fix' else code(text)}")
    if check.details:
        lines += ["  <details><summary>Details</summary>", ""] + _block(check.details) + ["", "  </details>"]
    return lines


def _submission(result: GradeResult, level: int, show_after_due: bool) -> list[str]:
    view = student_view(result, show_after_due)
    result = view.result
    lines = _summary(result, level) + _table(result, view.withheld)
    if failing(result):
        lines += ["", f"{'#' * (level + 1)} What to fix", ""]
        for check in failing(result):
            lines += _fix(check)
    return lines


def to_markdown(results: Sequence[AnyResult], level: int = 2, show_after_due: bool = False) -> str:
    """The summary of one or more gradings (each a ``GradeResult`` or its ``to_dict()``), as students see them."""
    lines: list[str] = []
    for result in results:
        if lines:
            lines.append("")
        lines += _submission(GradeResult.of(result), level, show_after_due)
    return "\n".join(lines) + "\n"
