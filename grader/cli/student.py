"""What `grader check` shows a student beyond the checks: only those they are shown, and their attempts.

The rubric may keep checks from students (grader/report/visibility.py): they are graded and
count in the score, but the terminal prints only the checks the student is shown, then one
line for the rest. Each run is remembered in the output folder (grader/report/attempts.py),
and the next run of the same folder says what changed since.
"""
from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from grader.cli.check_output import print_check
from grader.report.attempts import (
    Changes,
    compare,
    load_attempt,
    rubric_fingerprint,
    save_attempt,
)
from grader.report.visibility import (
    due_passed,
    shown_to_student,
    student_view,
    withheld_text,
)
from grader.results import CheckResult, GradeResult
from grader.rubric import Rubric


class StudentRun:
    """One `grader check` of ``folder``, as its student sees it."""

    def __init__(self, console: Console, rubric: Rubric, folder: Path, out: Path, show_after_due: bool) -> None:
        self.console, self.folder, self.out, self.show_after_due = console, folder, out, show_after_due
        self.released = show_after_due or due_passed(rubric.due)
        self.rubric = rubric_fingerprint(rubric)

    def print_check(self, check: CheckResult) -> None:
        """A finished check, printed when the student is shown it."""
        if shown_to_student(check, self.released):
            print_check(self.console, check)

    def remember(self, result: GradeResult) -> Changes | None:
        """What changed since the last run of this folder into this output (None the first time); keeps this run."""
        previous = load_attempt(self.out, self.folder)
        save_attempt(self.out, self.folder, result, self.rubric, self.show_after_due)
        return compare(previous, result, self.rubric, self.show_after_due) if previous else None

    def print_after(self, result: GradeResult, changes: Changes | None) -> None:
        """The line for the checks not shown, and what changed since the last run."""
        view = student_view(result, self.show_after_due)
        if view.withheld:
            self.console.print(f"[dim]{escape(withheld_text(view.withheld, view.due))}[/dim]", highlight=False)
        if changes:
            text = changes.text()
            self.console.print(f"[bold]{escape(text[:1].upper() + text[1:])}[/bold] "
                               f"[dim]({escape(changes.score_text())})[/dim]", highlight=False)
