"""`grader check`: grade one submission here, for a student (or a CI job), and say why."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console

from grader import __version__
from grader.cli.check_output import print_summary
from grader.cli.exit_codes import EXIT_USAGE, for_result
from grader.cli.inputs import read_rubric, without_evidence
from grader.cli.signals import stop_on_sigterm, stopped_exit_code
from grader.cli.student import StudentRun
from grader.errors import EnvironmentProblem
from grader.report.attempts import Changes
from grader.results import GradeResult
from grader.rubric import Rubric

if TYPE_CHECKING:  # the grading layer is imported when a check runs: `grader report` must not load the engine
    from grader.grading.context import LiveTargets


@click.command("check")
@click.argument("path", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--static", "static", is_flag=True, help="Static checks only; needs no Docker engine.")
@click.option("--live", is_flag=True, help="Grade a stack you already run, without booting anything.")
@click.option("--redis-url", default="redis://localhost:6379", show_default=True, help="With --live.")
@click.option("--web-url", default="http://localhost:5000", show_default=True, help="With --live.")
@click.option("--rubric", type=click.Path(dir_okay=False, exists=True, path_type=Path), help="Rubric file.")
@click.option("--json", "json_path", help="Write the result as JSON to FILE ('-' for stdout).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True, help="Folder for the HTML report.")
@click.option("--no-html", is_flag=True, help="Do not write the HTML report.")
@click.option("--junit", "junit_path", help="Write the result as JUnit XML to FILE ('-' for stdout).")
@click.option("--gradescope", "gradescope_path", help="Write Gradescope's results.json to FILE ('-' for stdout).")
@click.option("--markdown", "markdown_path", help="Write the Markdown summary to FILE ('-' for stdout).")
@click.option("--show-after-due", is_flag=True, help="Show the rubric's after_due_date checks now.")
@click.option("--no-evidence", is_flag=True, help="Do not record evidence (redis-cli session, page screenshots, "
              "ps and logs; the student's screenshots are not read) for the report.")
def check(path: Path, static: bool, live: bool, redis_url: str, web_url: str, rubric: Path | None,
          json_path: str | None, out: Path, no_html: bool, junit_path: str | None, gradescope_path: str | None,
          markdown_path: str | None, show_after_due: bool, no_evidence: bool) -> None:
    """Grade the submission in PATH (default: this folder)."""
    outputs = {"--json": json_path, "--junit": junit_path, "--gradescope": gradescope_path, "--markdown": markdown_path}
    to_stdout = [name for name, value in outputs.items() if value == "-"]
    if len(to_stdout) > 1:
        raise click.UsageError(f"only one of {', '.join(to_stdout)} can write to stdout ('-')")
    console = Console(stderr=bool(to_stdout))  # stdout then holds the one machine-readable output
    if static and live:
        raise click.UsageError("--static and --live cannot be used together")
    if not path.is_dir():
        raise click.BadParameter(f"{path} is not a folder", param_hint="PATH")
    rubric_config = without_evidence(read_rubric(rubric), no_evidence)
    from grader.grading.context import LiveTargets  # here, not above: see TYPE_CHECKING

    stop_on_sigterm()
    mode = "static" if static else "live" if live else "auto"
    console.print(f"[bold]Grading {path.resolve().name}[/bold] [dim](compose-grader {__version__})[/dim]")
    student = StudentRun(console, rubric_config, path, out, show_after_due)
    formats = bool(junit_path or gradescope_path or markdown_path)
    output_modules = (() if no_html else ("grader.report.html",)) + (("grader.report.formats",) if formats else ())
    result = _grade(student, path, mode, rubric_config, LiveTargets(redis_url, web_url) if live else None,
                    output_modules)
    changes = student.remember(result)
    report_path = None if no_html else _write_html(result, out, show_after_due, changes)
    _write_json(result, json_path)
    if formats:
        from grader.report.formats import write_formats

        write_formats([result.to_dict()], junit=junit_path, gradescope=gradescope_path, markdown=markdown_path,
                      show_after_due=show_after_due)
    print_summary(console, result, report_path)
    student.print_after(result, changes)
    sys.exit(for_result(result))


def _grade(student: StudentRun, path: Path, mode: str, rubric: Rubric, live: LiveTargets | None,
           output_modules: tuple[str, ...]) -> GradeResult:
    """The grading, each check the student is shown printed as it ends; a stop, or a machine that cannot
    grade, exits here. ``output_modules``: those of the outputs asked for, loaded while Compose reads."""
    console = student.console
    from grader.grading.engine import grade
    from grader.grading.interrupts import Interrupted

    try:
        with _phase_line(console, spin=mode != "static") as show_phase:
            return grade(path, mode=mode, rubric=rubric, live=live,
                         on_result=student.print_check, on_phase=show_phase, preload=output_modules)
    except (Interrupted, KeyboardInterrupt):
        console.print("[yellow]Stopped; everything the run created was removed.[/yellow]")
        sys.exit(stopped_exit_code())
    except EnvironmentProblem as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(EXIT_USAGE)


@contextmanager
def _phase_line(console: Console, spin: bool) -> Iterator[Callable[[str], None]]:
    """A spinner naming the grading's phase, on a terminal only (elsewhere it would be noise), and
    not for a static grading: it ends in a fraction of a second, in which a spinner would only
    flash, and loading rich's live display took a tenth of that time."""
    if not (spin and console.is_terminal):
        yield lambda phase: None
        return
    with console.status("loading…") as status:
        yield lambda phase: status.update(f"{phase}…")


def _write_html(result: GradeResult, out: Path, show_after_due: bool, since: Changes | None) -> str:
    from grader.report.html import write_html

    return str(write_html(result.to_dict(), out / f"{result.submission}.html", show_after_due=show_after_due,
                          since=since))


def _write_json(result: GradeResult, json_path: str | None) -> None:
    if not json_path:
        return
    text = json.dumps(result.to_dict(), indent=2)
    if json_path == "-":
        click.echo(text)
    else:
        Path(json_path).write_text(text + "\n")
