"""What the last run left in results.json: the grades a new run can keep instead of grading again.

A submission whose files hash the same as when results.json was written, graded with the same
rubric, mode and grader version (the same grading key), is not graded again unless the batch
is asked to regrade. One that was stopped before grading keeps its last grade, if it had one.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.batch.discovery import Submission
from grader.report import gradebook


class Previous:
    """The last run's entries, by the name of each one's source (folder or zip)."""

    def __init__(self, by_source: dict[str, dict[str, Any]]) -> None:
        self.by_source = by_source

    @classmethod
    def load(cls, out: Path) -> Previous:
        """What ``out``/results.json holds; nothing when it is missing or unreadable."""
        path = out / gradebook.RESULTS_NAME
        if not path.is_file():
            return cls({})
        try:
            entries = gradebook.load_results_json(path)
        except gradebook.ResultsFileError:
            return cls({})
        return cls({str(entry["batch"]["source"]): entry for entry in entries
                    if not gradebook.is_missing(entry) and isinstance(entry.get("batch"), dict)
                    and entry["batch"].get("source")})

    def last_grade(self, submission: Submission) -> dict[str, Any] | None:
        """The entry last written for this submission (the same source and id), if any."""
        before = self.by_source.get(submission.source_name)
        return before if before and before.get("submission") == submission.id else None

    def unchanged(self, submission: Submission, batch: dict[str, Any]) -> dict[str, Any] | None:
        """The last grade, when it still holds: the same files (``batch["content_hash"]``), the same
        grading key, and not an error (an error is always graded again)."""
        before = self.last_grade(submission)
        if before and before["batch"].get("content_hash") == batch["content_hash"] \
                and before["batch"].get("grading_key") == batch["grading_key"] and not gradebook.is_errored(before):
            return before
        return None
