"""`grader batch` and `grader report`: grading a class, and re-rendering its outputs.

A thin layer over :func:`grader.batch.grade_batch` and :mod:`grader.report.gradebook`. The two
click commands are registered on the main `grader` group in grader/cli/main.py; run
``python -m grader.cli`` to use them on their own.
"""
from __future__ import annotations

import signal
import statistics
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from grader.report import gradebook
from grader.batch import BatchEvent, BatchResult, default_jobs, grade_batch
from grader.errors import GraderError
from grader.batch.roster import Roster, RosterError
from grader.cli.lms_options import (GradeFileRequest, LmsError, LmsOptions, grade_file_options, lms_input_options,
                                    print_grade_file)
from grader.policy import RULES
from grader.rubric import RubricError, load_rubric

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2
EXIT_SIGINT, EXIT_SIGTERM = 130, 143

PHASE_LABELS = {"starting": "starting", "extracting": "unzipping", "copying": "copying", "booting": "building",
                "checking": "checking", "tearing down": "tearing down"}
STATE_STYLES = {"passed": "green", "failed": "red", "refused": "bold red", "error": "magenta", "missing": "dim"}
STATE_WORDS = {"passed": "passed", "failed": "not passed", "refused": "refused", "error": "error"}


class _Terminated:
    flag = False

    @classmethod
    def install(cls) -> None:
        signal.signal(signal.SIGTERM, cls._on_sigterm)

    @classmethod
    def _on_sigterm(cls, signum: int, frame: FrameType | None) -> None:
        cls.flag = True
        raise KeyboardInterrupt


def _score(entry: dict[str, Any]) -> str:
    return f"{gradebook.csv_points(entry.get('score')) or 0} / {gradebook.csv_points(entry.get('max_score')) or 0}"


def _outcome(entry: dict[str, Any]) -> Text:
    state = gradebook.state(entry)
    return Text(f"{_score(entry)}  {STATE_WORDS.get(state, state)}", style=STATE_STYLES.get(state, ""))


# Progress ---------------------------------------------------------------------------------------

class PlainProgress:
    """Not a terminal: one line per finished submission."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: BatchEvent) -> None:
        width = len(str(event.total))
        if event.kind == "done" and event.entry is not None:
            entry = event.entry
            state = gradebook.state(entry)
            extra = f" ({entry.get('duration_s', 0):.1f} s)" if entry.get("duration_s") else ""
            reason = ""
            if state in ("refused", "error"):
                first = (entry.get("policy") or [{}])[0].get("message") if state == "refused" else entry.get("error")
                reason = f": {first}" if first else ""
            self.console.print(f"[{event.done:>{width}}/{event.total}] {event.submission}: {_score(entry)} "
                               f"{STATE_WORDS.get(state, state)}{extra}{reason}", highlight=False, markup=False)
        elif event.kind == "unchanged" and event.entry is not None:
            self.console.print(f"[{event.done:>{width}}/{event.total}] {event.submission}: unchanged since last "
                               f"graded, {_score(event.entry)}", highlight=False, markup=False)
        elif event.kind == "regrade" and event.phase:
            self.console.print(f"[regrade] {event.submission}: {event.phase}", style="yellow", highlight=False,
                               markup=False)
        elif event.kind == "stopping":
            self.console.print("Stopping: waiting for the gradings under way to tear down…", highlight=False)
        elif event.kind == "notice" and event.phase:
            self.console.print(event.phase, style="yellow", highlight=False, markup=False)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class LiveProgress:
    """A terminal: a progress bar and a table of every submission's state, redrawn live."""

    def __init__(self, console: Console, jobs: int) -> None:
        self.console = console
        self.jobs = jobs
        self.rows: dict[str, dict[str, Any]] = {}
        self.total = 0
        self.done = 0
        self.stopping = False
        self.started = time.monotonic()
        self.live = Live(self, console=console, refresh_per_second=6, transient=False)

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def __call__(self, event: BatchEvent) -> None:
        self.total = event.total or self.total
        name = event.submission
        if event.kind == "stopping":
            self.stopping = True
            return
        if event.kind == "notice" and event.phase:
            self.console.print(Text(event.phase, style="yellow"))
            return
        if name is None:
            return
        row = self.rows.setdefault(name, {"state": "queued", "since": time.monotonic(), "finished": 0.0})
        if event.kind == "regrade":  # its worker was lost: said above the table, and in its row
            self.console.print(Text(f"{name}: {event.phase}", style="yellow"))
            row.update(state="active", phase=event.phase, regrade=True, since=time.monotonic())
        elif event.kind == "phase":
            if row["state"] in ("queued", "active"):
                if row["state"] == "queued":
                    row["since"] = time.monotonic()
                row["state"], row["phase"] = "active", PHASE_LABELS.get(event.phase or "", event.phase)
        elif event.kind in ("done", "unchanged"):
            row.update(state=event.kind, entry=event.entry, finished=time.monotonic())
            self.done = event.done
        elif event.kind == "stopped":
            row.update(state="stopped", finished=time.monotonic())

    def __rich__(self) -> Group:
        now = time.monotonic()
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=max(self.total, 1), completed=self.done, width=40),
                    Text(f"{self.done}/{self.total} graded" if self.total else "looking for submissions…",
                         style="bold"),
                    Text(f"{now - self.started:.0f} s, {self.jobs} at a time", style="dim"),
                    Text("stopping: tearing down…", style="yellow") if self.stopping else Text(""))
        table = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold dim")
        table.add_column("submission", no_wrap=True, overflow="ellipsis", max_width=40)
        table.add_column("state", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        active = [(name, row) for name, row in self.rows.items() if row["state"] == "active"]
        finished = sorted(((name, row) for name, row in self.rows.items() if row["state"] in ("done", "unchanged", "stopped")),
                          key=lambda item: item[1]["finished"], reverse=True)
        queued = [name for name, row in self.rows.items() if row["state"] == "queued"]
        room = max(4, self.console.size.height - 6)
        shown = active[:room]
        left = room - len(shown)
        queued_rows = queued[:max(0, left - 1)] if len(queued) > left - 1 else queued
        left -= len(queued_rows) + (1 if len(queued_rows) < len(queued) else 0)
        recent = finished[:max(0, left - (1 if len(finished) > left else 0))]
        for name, row in shown:
            mark, style = ("↻", "bold yellow") if row.get("regrade") else ("●", "yellow")
            table.add_row(Text(name), Text(f"{mark} {row.get('phase') or 'grading'}", style=style),
                          Text(f"{now - row['since']:.0f} s", style="dim"))
        for name in queued_rows:
            table.add_row(Text(name, style="dim"), Text("queued", style="dim"), Text(""))
        if len(queued_rows) < len(queued):
            table.add_row(Text(f"… {len(queued) - len(queued_rows)} more queued", style="dim"), Text(""), Text(""))
        for name, row in recent:
            if row["state"] == "stopped":
                table.add_row(Text(name, style="dim"), Text("stopped, not graded", style="dim"), Text(""))
                continue
            entry = row["entry"] or {}
            state = Text("unchanged, ", style="dim") + _outcome(entry) if row["state"] == "unchanged" else _outcome(entry)
            duration = entry.get("duration_s")
            took = (f"{duration:.1f} s" if duration < 10 else f"{duration:.0f} s") if duration else ""
            table.add_row(Text(name), state, Text(took if row["state"] == "done" else "", style="dim"))
        hidden = len(finished) - len(recent)
        if hidden > 0:
            table.add_row(Text(f"… {hidden} more finished", style="dim"), Text(""), Text(""))
        return Group(bar, table)


# Summary ----------------------------------------------------------------------------------------

def print_class_summary(console: Console, entries: list[dict[str, Any]], *, max_rows: int = 60) -> None:
    submissions = [entry for entry in entries if not gradebook.is_missing(entry)]
    missing = [entry for entry in entries if gradebook.is_missing(entry)]
    columns = gradebook.check_columns(entries)
    if not submissions:
        console.print("[yellow]No submissions were graded.[/yellow]")
    else:
        rank = {"refused": 0, "error": 1}
        table = Table(title="Class summary", title_justify="left", header_style="bold", show_lines=False)
        table.add_column("id", overflow="fold")
        table.add_column("name", overflow="fold")
        table.add_column("score", justify="right", no_wrap=True)
        table.add_column("result", no_wrap=True)
        table.add_column("did not pass")
        ordered = sorted(submissions, key=lambda entry: (rank.get(gradebook.state(entry), 2), gradebook.sort_key(entry)))
        for entry in ordered[:max_rows]:
            state = gradebook.state(entry)
            misses = [check["id"] for check in entry.get("checks") or [] if check.get("status") in ("failed", "error")]
            table.add_row(escape(gradebook.entry_id(entry)), escape(gradebook.entry_name(entry)), _score(entry),
                          f"[{STATE_STYLES[state]}]{STATE_WORDS[state]}[/]", escape(", ".join(misses)))
        if len(ordered) > max_rows:
            table.add_row(f"… {len(ordered) - max_rows} more", "", "", "", "(see grades.csv)")
        console.print(table)

        checks = Table(title="Pass rate per check", title_justify="left", header_style="bold")
        checks.add_column("check")
        checks.add_column("passed", justify="right")
        checks.add_column("", no_wrap=True)
        for column in columns:
            passed = sum(1 for entry in submissions
                         if gradebook.checks_by_id(entry).get(column.id, {}).get("status") == "passed")
            rate = passed / len(submissions)
            colour = "green" if rate >= 0.8 else "yellow" if rate >= 0.5 else "red"
            checks.add_row(column.id + (" (bonus)" if column.bonus else ""), f"{passed}/{len(submissions)}",
                           f"[{colour}]{'█' * round(rate * 20)}[/]{'·' * (20 - round(rate * 20))} {rate:4.0%}")
        console.print(checks)
        print_distribution(console, [float(entry.get("score") or 0) for entry in submissions],
                           gradebook.max_score(entries))
    counts = {state: sum(1 for entry in submissions if gradebook.state(entry) == state)
              for state in ("passed", "failed", "refused", "error")}
    line = (f"{len(submissions)} submission(s): {counts['passed']} passed, {counts['failed']} not passed, "
            f"{counts['refused']} refused, {counts['error']} error(s)")
    if missing:
        names = ", ".join(gradebook.entry_name(entry) or gradebook.entry_id(entry) for entry in missing[:10])
        line += f"; {len(missing)} student(s) on the roster submitted nothing: {names}" + (" …" if len(missing) > 10 else "")
    console.print(escape(line), highlight=False)


def print_distribution(console: Console, scores: list[float], maximum: float) -> None:
    if not scores:
        return
    top = int(max(max(scores), maximum))
    bins = list(range(top + 1)) if top <= 30 else None
    console.print(f"\n[bold]Score distribution[/bold]  mean {statistics.fmean(scores):.1f}, median "
                  f"{statistics.median(scores):g}, min {min(scores):g}, max {max(scores):g} (out of {maximum:g})")
    if bins is None:
        width = top / 10
        counts = [0] * 10
        for score in scores:
            counts[min(int(score / width), 9)] += 1
        labels = [f"{i * width:.0f}-{(i + 1) * width:.0f}" for i in range(10)]
    else:
        counts = [0] * len(bins)
        for score in scores:
            counts[min(int(score), len(bins) - 1)] += 1
        labels = [str(value) for value in bins]
    highest = max(counts)
    label_width = max(map(len, labels))
    for label, count in zip(labels, counts):
        bar = "█" * (round(30 * count / highest) if highest else 0)
        console.print(f"  {label:>{label_width}} │[cyan]{bar}[/cyan] {count if count else ''}", highlight=False)


# Commands ---------------------------------------------------------------------------------------

@click.command("batch")
@click.argument("folder", type=click.Path(exists=True, path_type=Path))
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help=f"Gradings at once [default: what this machine can hold, here {default_jobs()}].")
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
@lms_input_options
@grade_file_options
def batch(folder: Path, jobs: int | None, out: Path, roster: Path | None, regrade: bool, rubric: Path | None,
          static: bool, queue: str | None, junit_path: str | None, markdown_path: str | None,
          gradescope_dir: str | None, lms_input: LmsOptions, grade_request: GradeFileRequest) -> None:
    """Grade every submission in FOLDER: each sub-folder or .zip file is one (or each student of an LMS download)."""
    console = Console()
    try:
        rubric_config = load_rubric(rubric, known_rules=frozenset(RULES))
        class_roster = Roster.load(roster) if roster else None
        if queue:
            _check_queue(queue, rubric_config)
    except (RubricError, RosterError) as exc:
        raise click.UsageError(str(exc)) from exc
    except GraderError as exc:
        raise click.UsageError(str(exc)) from exc
    _Terminated.install()
    jobs = jobs or default_jobs()
    console.print(f"[bold]Grading the submissions in {escape(str(folder))}[/bold] "
                  f"[dim](up to {jobs} at a time; reports in {escape(str(out))})[/dim]", highlight=False)
    view = LiveProgress(console, jobs) if console.is_terminal else PlainProgress(console)
    try:
        with view:
            result: BatchResult = grade_batch(folder, out, jobs=jobs, roster=class_roster, regrade=regrade,
                                              rubric=rubric_config, on_event=view, mode="static" if static else "auto",
                                              queue=queue, lms=lms_input, show_after_due=grade_request.show_after_due,
                                              grade_file=grade_request)
    except LmsError as exc:  # the folder is not the download --lms names, or --roster was given with one
        raise click.UsageError(str(exc)) from exc
    except KeyboardInterrupt:  # a second stop after the results were written
        console.print("[yellow]Stopped.[/yellow]")
        sys.exit(EXIT_SIGTERM if _Terminated.flag else EXIT_SIGINT)
    console.print()
    print_class_summary(console, result.entries)
    if result.unmatched and class_roster:
        console.print(f"[yellow]Not on the roster:[/yellow] {escape(', '.join(result.unmatched))}", highlight=False)
    for key, names in result.duplicates.items():
        console.print(f"[yellow]Several submissions for {escape(key)}:[/yellow] {escape(', '.join(names))}",
                      highlight=False)
    graded = [entry for entry in result.entries if not entry.get("missing") and entry.get("checks") is not None]
    if graded and (junit_path or markdown_path or gradescope_dir):
        from grader.report.formats import write_formats

        write_formats(graded, junit=junit_path, markdown=markdown_path, show_after_due=grade_request.show_after_due,
                      gradescope=gradescope_dir if len(graded) > 1 or not gradescope_dir
                      else str(Path(gradescope_dir) / f"{graded[0].get('submission')}.json"))
    outputs = result.outputs
    if outputs:
        console.print(f"\n[dim]{len(result.graded)} graded, {len(result.unchanged)} unchanged since the last run, "
                      f"in {result.duration_s:.1f} s.[/dim]")
        console.print(f"Dashboard: {escape(str(outputs.index))}\nGrades:    {escape(str(outputs.grades))}\n"
                      f"Results:   {escape(str(outputs.results))}", highlight=False)
        print_grade_file(console, outputs.grade_file, unplaced=result.unmatched if result.lms else [])
    if result.interrupted:
        console.print(f"[yellow]Stopped: {len(result.stopped)} submission(s) not graded; everything the stopped "
                      "gradings created was removed. Run the same command again to grade the rest.[/yellow]")
        sys.exit(EXIT_SIGTERM if _Terminated.flag else EXIT_SIGINT)
    sys.exit(EXIT_ERRORS if result.errored else EXIT_OK)


def require_queue_extra() -> None:
    """Without Celery (the `queue` extra), one line saying what to install, and exit 2."""
    from grader.batch.queue import QueueUnavailable, require_celery

    try:
        require_celery()
    except QueueUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


def _check_queue(queue: str, rubric: Any) -> None:
    """Refuse, before anything is sent, a queue this grader cannot use."""
    require_queue_extra()
    from grader.batch.queue.config import make_app
    from grader.batch.queue.payload import rubric_to_dict

    make_app(queue).close()  # refuses what is not a Redis URL
    rubric_to_dict(rubric)   # refuses what cannot travel to workers


@click.command("report")
@click.argument("results", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write to [default: the folder holding RESULTS].")
@grade_file_options
def report(results: Path, out: Path | None, grade_request: GradeFileRequest) -> None:
    """Re-render the reports, index.html, grades.csv (an LMS's grade file) from results.json, without grading."""
    console = Console()
    try:
        entries = gradebook.load_results_json(results)
    except gradebook.ResultsFileError as exc:
        raise click.UsageError(str(exc)) from exc
    out = out or results.parent
    same = out.resolve() == results.parent.resolve()
    folder = next((entry["batch"].get("folder") for entry in entries if isinstance(entry.get("batch"), dict)
                   and entry["batch"].get("folder")), None) or results.resolve().parent.name
    outputs = gradebook.render_outputs(entries, out, write_results=not same, notes={"title": f"{folder}: class results"},
                                       grade_file=grade_request)
    print_class_summary(console, entries)
    console.print(f"\nRe-rendered {len(outputs.reports)} report(s).\nDashboard: {escape(str(outputs.index))}\n"
                  f"Grades:    {escape(str(outputs.grades))}", highlight=False)
    print_grade_file(console, outputs.grade_file)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def _standalone() -> None:
    """Batch grading commands (normally `grader batch` and `grader report`)."""


_standalone.add_command(batch)
_standalone.add_command(report)

if __name__ == "__main__":  # pragma: no cover
    _standalone()
