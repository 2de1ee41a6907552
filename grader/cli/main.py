"""`grader`: the command line, a thin layer over the library."""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from types import FrameType

import click
from rich.console import Console

from grader import __version__
from grader.errors import EnvironmentProblem
from grader.results import GradeResult, Status
from grader.policy import RULES
from grader.rubric import RubricError, load_rubric

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 130, 143


class _Signals:
    """Turn SIGTERM into the same clean stop as Ctrl-C, remembering which it was."""

    terminated = False

    @classmethod
    def install(cls) -> None:
        signal.signal(signal.SIGTERM, cls._on_sigterm)

    @classmethod
    def _on_sigterm(cls, signum: int, frame: FrameType | None) -> None:
        cls.terminated = True
        raise KeyboardInterrupt


def _exit_code(result: GradeResult) -> int:
    if any(check.status is Status.ERROR for check in result.checks):
        return EXIT_USAGE
    return EXIT_PASSED if result.passed else EXIT_FAILED


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade Docker Compose assignments: check, boot, probe, report."""


@main.command()
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
def check(path: Path, static: bool, live: bool, redis_url: str, web_url: str, rubric: Path | None,
          json_path: str | None, out: Path, no_html: bool, junit_path: str | None, gradescope_path: str | None,
          markdown_path: str | None, show_after_due: bool) -> None:
    """Grade the submission in PATH (default: this folder)."""
    to_stdout = [name for name, value in (("--json", json_path), ("--junit", junit_path),
                                          ("--gradescope", gradescope_path), ("--markdown", markdown_path))
                 if value == "-"]
    if len(to_stdout) > 1:
        raise click.UsageError(f"only one of {', '.join(to_stdout)} can write to stdout ('-')")
    console = Console(stderr=bool(to_stdout))
    if static and live:
        raise click.UsageError("--static and --live cannot be used together")
    if not path.is_dir():
        raise click.BadParameter(f"{path} is not a folder", param_hint="PATH")
    try:
        rubric_config = load_rubric(rubric, known_rules=frozenset(RULES))
    except RubricError as exc:
        raise click.UsageError(str(exc)) from exc
    _Signals.install()
    mode = "static" if static else "live" if live else "auto"
    console.print(f"[bold]Grading {path.resolve().name}[/bold] [dim](compose-grader {__version__})[/dim]")
    from grader.cli.console import print_summary
    from grader.cli.student import StudentRun
    from grader.grading.context import LiveTargets  # here, not above: `grader report` must not load the engine
    from grader.grading.engine import grade
    from grader.grading.interrupts import Interrupted

    student = StudentRun(console, rubric_config, path, out, show_after_due)
    try:
        with console.status("loading…") as status:
            result = grade(path, mode=mode, rubric=rubric_config,
                           live=LiveTargets(redis_url, web_url) if live else None,
                           on_result=student.print_check,
                           on_phase=lambda phase: status.update(f"{phase}…"))
    except (Interrupted, KeyboardInterrupt):
        console.print("[yellow]Stopped; everything the run created was removed.[/yellow]")
        sys.exit(EXIT_SIGTERM if _Signals.terminated else EXIT_SIGINT)
    except EnvironmentProblem as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(EXIT_USAGE)
    changes = student.remember(result)
    report_path = None
    if not no_html:
        from grader.report.html import write_html
        report_path = str(write_html(result.to_dict(), out / f"{result.submission}.html",
                                     show_after_due=show_after_due, since=changes))
    _write_json(result, json_path)
    from grader.report.formats import write_formats

    write_formats([result.to_dict()], junit=junit_path, gradescope=gradescope_path, markdown=markdown_path,
                  show_after_due=show_after_due)
    print_summary(console, result, report_path)
    student.print_after(result, changes)
    sys.exit(_exit_code(result))


def _write_json(result: GradeResult, json_path: str | None) -> None:
    if not json_path:
        return
    text = json.dumps(result.to_dict(), indent=2)
    if json_path == "-":
        click.echo(text)
    else:
        Path(json_path).write_text(text + "\n")


@main.command()
@click.argument("path", default=".", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--service", default="redis", show_default=True, help="The Redis service of your stack.")
def dump(path: Path, service: str) -> None:
    """Save your running Redis data as PATH/dump.rdb, to hand in with your files."""
    from grader.grading.dumping import DumpError, save_dump

    try:
        target = save_dump(path.resolve(), service)
    except (DumpError, EnvironmentProblem) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"Saved {target}. Submit it next to your Compose file.")


@main.command()
@click.option("--broker", required=True, metavar="URL", help="Redis broker, e.g. redis://:PASSWORD@HOST:6379/0.")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Gradings at once on this host [default: what it can hold].")
@click.option("--loglevel", default="INFO", show_default=True)
def worker(broker: str, concurrency: int | None, loglevel: str) -> None:
    """Grade submissions from a `grader batch --queue` with this host's Docker engine."""
    from grader.batch.machine import default_jobs
    from grader.cli.batch import require_queue_extra

    require_queue_extra()
    from grader.batch.queue.config import QueueError
    from grader.batch.queue.worker import run_worker

    try:
        run_worker(broker, concurrency or default_jobs(), loglevel)
    except QueueError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command()
@click.option("--all", "remove_all", is_flag=True, help="Also remove what gradings still running own.")
@click.option("--build-cache", is_flag=True, help="Also remove the build cache the grader keeps for later builds.")
def clean(remove_all: bool, build_cache: bool) -> None:
    """Remove the containers, volumes, networks and images of gradings that were killed.

    Resources of gradings still running on this host are kept unless --all is given;
    nothing without the grader's label is ever touched.
    """
    from grader.docker.cleanup import clean as clean_up
    from grader.docker.cleanup import remove_build_cache

    try:
        cleaned = clean_up(remove_all)
        cache = remove_build_cache() if build_cache else []
    except EnvironmentProblem as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if build_cache:
        click.echo(f"{len(cache)} build cache image(s) removed")
    click.echo(", ".join(f"{len(ids)} {kind}(s)" for kind, ids in cleaned.removed.items())
               + f" removed ({cleaned.total} in all); {len(cleaned.folders)} stale work folder(s) removed")
    if cleaned.kept_elsewhere:
        click.echo(f"{cleaned.kept_elsewhere} resource(s) of gradings in other containers or hosts were kept; "
                   "--all removes them too")


from grader.cli.batch import batch, report  # noqa: E402 - the commands need main defined first

main.add_command(batch)
main.add_command(report)


if __name__ == "__main__":  # pragma: no cover
    main()
