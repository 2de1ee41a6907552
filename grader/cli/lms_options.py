"""The LMS options of `grader batch` and `grader report`: reading a bulk download, and the grade file out.

Each decorator adds its options to a command and hands the command one object instead of
many arguments: ``lms_input`` (:class:`~grader.batch.downloads.LmsOptions`) and
``grade_request`` (:class:`~grader.report.lms_grades.GradeFileRequest`).
"""
# LmsError, LmsOptions and GradeFileRequest are re-exported for the commands' signatures.
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from grader.batch.downloads import LmsOptions
from grader.lms import LMS_NAMES, LmsError
from grader.report.lms_grades import GradeFileRequest, WrittenGradeFile

_LMS_INPUT = [
    click.option("--lms", "lms_name", type=click.Choice([*LMS_NAMES, "none"]), default=None,
                 help="FOLDER is this LMS's bulk download [default: detected from its names; 'none': plain folders]."),
    click.option("--lms-groups", is_flag=True, help="A group assignment: the download's names are the groups'."),
    click.option("--class-list", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                 help="Brightspace: a grades export (OrgDefinedId, Username, First Name, Last Name) for the ids."),
]
_GRADE_FILE = [
    click.option("--grade-file", "grade_file_lms", type=click.Choice(LMS_NAMES), default=None,
                 help="Write this LMS's grade file next to grades.csv [default: the download's LMS]."),
    click.option("--assignment", default="", help="The assignment's name (Brightspace: the grade item's name)."),
    click.option("--assignment-id", default="", help="Canvas: the assignment id; Blackboard: the column id."),
    click.option("--points-possible", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Rescale scores to the LMS item's points [default: the grader's points]."),
    click.option("--show-after-due", is_flag=True,
                 help="Show students the rubric's after_due_date checks now (default: once its due date passed)."),
]


def _with(options: list[Callable[[Any], Any]], command: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(options):
        command = option(command)
    return command


def lms_input_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--lms, --lms-groups, --class-list, handed to ``command`` as ``lms_input``."""
    @functools.wraps(command)
    def wrapper(*args: Any, lms_name: str | None, lms_groups: bool, class_list: Path | None, **kwargs: Any) -> Any:
        return command(*args, lms_input=LmsOptions(lms_name, lms_groups, class_list), **kwargs)

    return _with(_LMS_INPUT, wrapper)


def grade_file_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--grade-file, --assignment, --assignment-id, --points-possible, --show-after-due, as ``grade_request``
    (refused, as a usage error, when a named grade file could not be written)."""

    @functools.wraps(command)
    def wrapper(*args: Any, grade_file_lms: str | None, assignment: str, assignment_id: str,
                points_possible: float | None, show_after_due: bool, **kwargs: Any) -> Any:
        request = GradeFileRequest(grade_file_lms, assignment, assignment_id, points_possible, show_after_due)
        try:
            request.check()  # before anything is graded
        except LmsError as exc:
            raise click.UsageError(str(exc)) from exc
        return command(*args, grade_request=request, **kwargs)

    return _with(_GRADE_FILE, wrapper)


def print_grade_file(console: Console, written: WrittenGradeFile | None, *, unplaced: list[str] | tuple[str, ...] = (),
                     max_names: int = 20) -> None:
    """Where the grade file went, and every student it leaves out with why (the instructor enters those by hand);
    ``unplaced``: the Brightspace names the class list did not place."""
    if unplaced:
        console.print(f"[yellow]Not on the class list:[/yellow] {escape(', '.join(unplaced))}", highlight=False)
    if written is None:
        return
    if written.path is None:
        console.print(f"[yellow]{escape(written.note)}[/yellow]", highlight=False)
        return
    label = f"{written.lms.capitalize()}:".ljust(10)
    console.print(f"{label} {escape(str(written.path))} ({written.written} student(s))", highlight=False)
    if written.skipped:
        console.print(f"[yellow]Not in {escape(written.path.name)} ({len(written.skipped)}): grade them in "
                      f"{written.lms.capitalize()} by hand[/yellow]", highlight=False)
        for who, why in written.skipped[:max_names]:
            console.print(f"  {escape(who)}: {escape(why)}", highlight=False)
        if len(written.skipped) > max_names:
            console.print(f"  … and {len(written.skipped) - max_names} more", highlight=False)
