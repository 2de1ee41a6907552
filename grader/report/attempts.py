"""A student's attempts: what changed since their last ``grader check`` of the same folder.

After each run, ``grader check`` keeps what the student was shown (their checks only, so a
hidden check never lands in a file they can read) in the output folder, never in the
submission: ``<out>/.grader-history/<key>.json``, the key being a hash of the graded folder's
real path. The next run of the same folder into the same output folder compares with it:

    since your last run: redis-port now passes; named-volume still fails

Only the checks the student is shown now are compared. A check that passes both times is not
mentioned; one skipped both times neither (static mode skips every runtime check). When the
rubric changed in between (points, checks, expected values), the score is not comparable and the
line says so; a check the last run did not show the student is "new". The first run says nothing.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.report.visibility import student_view
from grader.results import CheckResult, GradeResult, Status, points_text
from grader.rubric import Rubric

HISTORY_DIR = ".grader-history"
_FORMAT = 1
_NOT_PASSING = {Status.FAILED: "fails", Status.SKIPPED: "is skipped", Status.ERROR: "could not run"}


def rubric_fingerprint(rubric: Rubric) -> str:
    """What of the rubric decides a grade (visibility and due aside), as a short hash."""
    text = json.dumps(rubric.without_presentation().to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def history_path(out: Path, folder: Path) -> Path:
    key = hashlib.sha256(str(Path(folder).resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return Path(out) / HISTORY_DIR / f"{key}.json"


@dataclass(frozen=True)
class Attempt:
    """One run as it is remembered: what the student was shown, under which rubric."""

    result: GradeResult
    rubric: str   # rubric_fingerprint()


@dataclass(frozen=True)
class Changes:
    """What changed between two runs, as a student reads it."""

    items: list[str] = field(default_factory=list)   # "redis-port now passes"
    before: tuple[float, float] = (0.0, 0.0)        # score, maximum
    after: tuple[float, float] = (0.0, 0.0)
    rubric_changed: bool = False
    mode_before: str | None = None                  # the last run's mode, when it was another

    def text(self) -> str:
        """``since your last run: redis-port now passes; named-volume still fails``."""
        said = "; ".join(self.items) if self.items else "no check changed"
        return f"since your last run: {said}"

    def score_text(self) -> str:
        """``score 5 → 9 / 14``, or what stops the scores from being compared."""
        if self.rubric_changed:
            return "the rubric changed since, so the scores are not comparable"
        line = f"score {points_text(self.before[0])} → {points_text(self.after[0])} / {points_text(self.after[1])}"
        return line + (f" (the last run was in {self.mode_before} mode)" if self.mode_before else "")


def _phrase(check: CheckResult, before: CheckResult | None) -> str | None:
    """What happened to one check, or None when there is nothing to say."""
    name = check.id or check.title
    now_passes = check.status is Status.PASSED
    if before is None:
        return f"{name} is new and {'passes' if now_passes else _NOT_PASSING[check.status]}"
    was_passing = before.status is Status.PASSED
    if now_passes:
        return None if was_passing else f"{name} now passes"
    if was_passing:
        return f"{name} now {_NOT_PASSING[check.status]}"
    if check.status is Status.SKIPPED and before.status is Status.SKIPPED:
        return None
    if check.status is before.status:
        return f"{name} still {_NOT_PASSING[check.status]}"
    return f"{name} now {_NOT_PASSING[check.status]}"


def compare(previous: Attempt, current: GradeResult, rubric: str, show_after_due: bool = False) -> Changes:
    """What changed from ``previous`` to ``current`` (a full grading: only what the student is shown counts)."""
    shown = student_view(current, show_after_due).result
    before = {check.id: check for check in previous.result.checks}
    items = [phrase for check in shown.checks if (phrase := _phrase(check, before.get(check.id)))]
    mode_before = previous.result.mode if previous.result.mode != current.mode else None
    return Changes(items, (previous.result.score, previous.result.max_score), (current.score, current.max_score),
                   rubric_changed=previous.rubric != rubric, mode_before=mode_before)


def load_attempt(out: Path, folder: Path) -> Attempt | None:
    """The last run of ``folder`` into ``out``, if one was remembered and can be read."""
    path = history_path(out, folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT or not isinstance(data.get("result"), dict):
        return None
    return Attempt(GradeResult.from_dict(data["result"]), str(data.get("rubric") or ""))


def save_attempt(out: Path, folder: Path, result: GradeResult, rubric: str,
                 show_after_due: bool = False) -> Path | None:
    """Remember this run (what the student was shown); None when the output folder cannot be written."""
    path = history_path(out, folder)
    data: dict[str, Any] = {"format": _FORMAT, "folder": str(Path(folder).resolve()), "rubric": rubric,
                            "result": student_view(result, show_after_due).result.to_dict()}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(data, stream, ensure_ascii=False)
            os.replace(temp, path)
        finally:
            Path(temp).unlink(missing_ok=True)
    except OSError:
        return None
    return path
