"""`grader batch`: grade every submission of a class, here or on queue workers, and summarise.

A thin layer over :func:`grader.batch.grade_batch`. The command is registered on the main
`grader` group (grader/cli/main.py); ``python -m grader.cli.batch`` runs it, and `grader report`,
on their own.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from grader.batch import BatchResult, default_jobs, grade_batch
from grader.batch.roster import Roster
from grader.cli.exit_codes import EXIT_FAILED, EXIT_OK
from grader.cli.check_output import print_skipped
from grader.cli.inputs import JOBS, read_roster, read_rubric, without_evidence
from grader.cli.lms_options import (GradeFileRequest, LmsError, LmsOptions, grade_file_options, lms_input_options,
                                    print_grade_file)
from grader.cli.progress import LiveProgress, PlainProgress
from grader.cli.queue_extra import check_queue, require_queue_extra
from grader.cli.report import report
from grader.cli.signals import stop_on_sigterm, stopped_exit_code
from grader.cli.summary import print_class_summary
from grader.errors import GraderError

__all__ = ["LiveProgress", "PlainProgress", "batch", "print_class_summary", "report", "require_queue_extra"]


@click.command("batch")
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@click.option("-j", "--jobs", type=JOBS, default="auto", metavar="N|auto",
              help=f"Gradings at once; auto: what this machine can hold, here {default_jobs()}.  [default: auto]")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True,
              help="Folder for the reports, index.html, grades.csv and results.json.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="GitHub Classroom roster CSV (identifier, github_username, github_id, name).")
@click.option("--regrade", is_flag=True, help="Grade every submission again, even those unchanged since results.json.")
@click.option("--rubric", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Rubric file.")
@click.option("--static", "static", is_flag=True, help="Static checks only; needs no Docker engine.")
@click.option("--queue", metavar="URL", help="Send the submissions to Celery workers on this Redis broker "
              "(redis://[:PASSWORD@]HOST:6379/0) instead of grading here.")
@click.option("--junit", "junit_path", help="Also write every result as JUnit XML to FILE.")
@click.option("--markdown", "markdown_path", help="Also write the Markdown summary to FILE.")
@click.option("--gradescope", "gradescope_dir", help="Also write Gradescope's results.json per student into DIR.")
@click.option("--no-evidence", is_flag=True, help="Do not record evidence (redis-cli session, page screenshots, "
              "ps and logs; the students' screenshots are not read) for the reports.")
@lms_input_options
@grade_file_options
def batch(folder: Path, jobs: int, out: Path, roster: Path | None, regrade: bool, rubric: Path | None,
          static: bool, queue: str | None, junit_path: str | None, markdown_path: str | None,
          gradescope_dir: str | None, no_evidence: bool, lms_input: LmsOptions, grade_request: GradeFileRequest) -> None:
    """Grade every submission in FOLDER: each sub-folder or .zip file is one (or each student of an LMS download)."""
    console = Console()
    rubric_config = without_evidence(read_rubric(rubric), no_evidence)
    class_roster = read_roster(roster)
    if queue:
        try:
            check_queue(queue, rubric_config)
        except GraderError as exc:
            raise click.UsageError(str(exc)) from exc
    stop_on_sigterm()
    console.print(f"[bold]Grading the submissions in {escape(str(folder))}[/bold] "
                  f"[dim](up to {jobs} at a time; reports in {escape(str(out))})[/dim]", highlight=False)
    view = LiveProgress(console, jobs) if console.is_terminal else PlainProgress(console)
    try:
        with view:
            result = grade_batch(folder, out, jobs=jobs, roster=class_roster, regrade=regrade, rubric=rubric_config,
                                 on_event=view, mode="static" if static else "auto", queue=queue, lms=lms_input,
                                 show_after_due=grade_request.show_after_due, grade_file=grade_request)
    except LmsError as exc:  # the folder is not the download --lms names, or --roster was given with one
        raise click.UsageError(str(exc)) from exc
    except KeyboardInterrupt:  # a second stop after the results were written
        console.print("[yellow]Stopped.[/yellow]")
        sys.exit(stopped_exit_code())
    _print_outcome(console, result, class_roster)
    skipped = [line for entry in result.entries for line in (entry.get("evidence") or {}).get("skipped") or []]
    print_skipped(console, skipped)  # each once for the class: e.g. no playwright on this machine
    _write_formats(result, junit_path, markdown_path, gradescope_dir, grade_request.show_after_due)
    _print_outputs(console, result)
    if result.interrupted:
        console.print(f"[yellow]Stopped: {len(result.stopped)} submission(s) not graded; everything the stopped "
                      "gradings created was removed. Run the same command again to grade the rest.[/yellow]")
        sys.exit(stopped_exit_code())
    sys.exit(EXIT_FAILED if result.errored else EXIT_OK)


def _print_outcome(console: Console, result: BatchResult, roster: Roster | None) -> None:
    console.print()
    print_class_summary(console, result.entries)
    if result.unmatched and roster:
        console.print(f"[yellow]Not on the roster:[/yellow] {escape(', '.join(result.unmatched))}", highlight=False)
    for key, names in result.duplicates.items():
        console.print(f"[yellow]Several submissions for {escape(key)}:[/yellow] {escape(', '.join(names))}",
                      highlight=False)


def _write_formats(result: BatchResult, junit_path: str | None, markdown_path: str | None,
                   gradescope_dir: str | None, show_after_due: bool) -> None:
    graded = [entry for entry in result.entries if not entry.get("missing") and entry.get("checks") is not None]
    if not graded or not (junit_path or markdown_path or gradescope_dir):
        return
    from grader.report.formats import write_formats

    # one graded submission: Gradescope's file for it, named after it, inside DIR
    write_formats(graded, junit=junit_path, markdown=markdown_path, show_after_due=show_after_due,
                  gradescope=gradescope_dir if len(graded) > 1 or not gradescope_dir
                  else str(Path(gradescope_dir) / f"{graded[0].get('submission')}.json"))


def _print_outputs(console: Console, result: BatchResult) -> None:
    outputs = result.outputs
    if not outputs:
        return
    console.print(f"\n[dim]{len(result.graded)} graded, {len(result.unchanged)} unchanged since the last run, "
                  f"in {result.duration_s:.1f} s.[/dim]")
    console.print(f"Dashboard: {escape(str(outputs.index))}\nGrades:    {escape(str(outputs.grades))}\n"
                  f"Results:   {escape(str(outputs.results))}", highlight=False)
    print_grade_file(console, outputs.grade_file, unplaced=result.unmatched if result.lms else [])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def _standalone() -> None:
    """Batch grading commands (normally `grader batch` and `grader report`)."""


_standalone.add_command(batch)
_standalone.add_command(report)

if __name__ == "__main__":  # pragma: no cover
    _standalone()
