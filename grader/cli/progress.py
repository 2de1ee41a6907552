"""What `grader batch` shows while it grades: a line per finished submission when its output is
not a terminal, else a progress bar over a live table of every submission's state."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from grader.batch.events import BatchEvent
from grader.cli.entry_text import outcome_text, score_text, state_word
from grader.report import gradebook

PHASE_LABELS = {"starting": "starting", "extracting": "unzipping", "copying": "copying", "booting": "building",
                "checking": "checking", "tearing down": "tearing down"}

Row = dict[str, Any]  # one submission's line in the live table: state, phase, since, finished, entry, regrade


class PlainProgress:
    """Not a terminal: one line per finished submission."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: BatchEvent) -> None:
        counter = f"[{event.done:>{len(str(event.total))}}/{event.total}]"
        if event.kind == "done" and event.entry is not None:
            self._print(f"{counter} {event.submission}: {_done_line(event.entry)}")
        elif event.kind == "unchanged" and event.entry is not None:
            self._print(f"{counter} {event.submission}: unchanged since last graded, {score_text(event.entry)}")
        elif event.kind == "regrade" and event.phase:
            self._print(f"[regrade] {event.submission}: {event.phase}", style="yellow")
        elif event.kind == "stopping":
            self.console.print("Stopping: waiting for the gradings under way to tear down…", highlight=False)
        elif event.kind == "notice" and event.phase:
            self._print(event.phase, style="yellow")

    def _print(self, line: str, style: str | None = None) -> None:
        """Names and messages are the students' own text: never read as markup."""
        self.console.print(line, style=style, highlight=False, markup=False)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _done_line(entry: dict[str, Any]) -> str:
    """`7 / 10 not passed (12.3 s)`, with the first reason when it was refused or errored."""
    state = gradebook.state(entry)
    extra = f" ({entry.get('duration_s', 0):.1f} s)" if entry.get("duration_s") else ""
    reason = ""
    if state in ("refused", "error"):
        first = (entry.get("policy") or [{}])[0].get("message") if state == "refused" else entry.get("error")
        reason = f": {first}" if first else ""
    return f"{score_text(entry)} {state_word(state)}{extra}{reason}"


@dataclass
class _Screen:
    """The rows that fit: every grading under way first, then what is queued, then the latest finished."""

    active: list[tuple[str, Row]]
    queued: list[str]
    more_queued: int
    finished: list[tuple[str, Row]]
    more_finished: int


class LiveProgress:
    """A terminal: a progress bar and a table of every submission's state, redrawn live."""

    def __init__(self, console: Console, jobs: int) -> None:
        self.console = console
        self.jobs = jobs
        self.rows: dict[str, Row] = {}
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
        return Group(self._bar(now), self._table(now))

    def _bar(self, now: float) -> Table:
        bar = Table.grid(padding=(0, 1))
        bar.add_row(ProgressBar(total=max(self.total, 1), completed=self.done, width=40),
                    Text(f"{self.done}/{self.total} graded" if self.total else "looking for submissions…",
                         style="bold"),
                    Text(f"{now - self.started:.0f} s, {self.jobs} at a time", style="dim"),
                    Text("stopping: tearing down…", style="yellow") if self.stopping else Text(""))
        return bar

    def _table(self, now: float) -> Table:
        table = Table(box=None, padding=(0, 2), show_edge=False, header_style="bold dim")
        table.add_column("submission", no_wrap=True, overflow="ellipsis", max_width=40)
        table.add_column("state", no_wrap=True)
        table.add_column("time", justify="right", no_wrap=True)
        screen = self._screen()
        for name, row in screen.active:
            mark, style = ("↻", "bold yellow") if row.get("regrade") else ("●", "yellow")
            table.add_row(Text(name), Text(f"{mark} {row.get('phase') or 'grading'}", style=style),
                          Text(f"{now - row['since']:.0f} s", style="dim"))
        for name in screen.queued:
            table.add_row(Text(name, style="dim"), Text("queued", style="dim"), Text(""))
        if screen.more_queued:
            table.add_row(Text(f"… {screen.more_queued} more queued", style="dim"), Text(""), Text(""))
        for name, row in screen.finished:
            table.add_row(*_finished_row(name, row))
        if screen.more_finished > 0:
            table.add_row(Text(f"… {screen.more_finished} more finished", style="dim"), Text(""), Text(""))
        return table

    def _screen(self) -> _Screen:
        active = [(name, row) for name, row in self.rows.items() if row["state"] == "active"]
        finished = sorted(((name, row) for name, row in self.rows.items()
                           if row["state"] in ("done", "unchanged", "stopped")),
                          key=lambda item: item[1]["finished"], reverse=True)
        queued = [name for name, row in self.rows.items() if row["state"] == "queued"]
        room = max(4, self.console.size.height - 6)  # the bar, the header and a margin take the rest
        shown = active[:room]
        left = room - len(shown)
        queued_rows = queued[:max(0, left - 1)] if len(queued) > left - 1 else queued
        left -= len(queued_rows) + (1 if len(queued_rows) < len(queued) else 0)
        recent = finished[:max(0, left - (1 if len(finished) > left else 0))]
        return _Screen(shown, queued_rows, len(queued) - len(queued_rows), recent, len(finished) - len(recent))


def _finished_row(name: str, row: Row) -> tuple[Text, Text, Text]:
    if row["state"] == "stopped":
        return Text(name, style="dim"), Text("stopped, not graded", style="dim"), Text("")
    entry = row["entry"] or {}
    state = Text("unchanged, ", style="dim") + outcome_text(entry) if row["state"] == "unchanged" else outcome_text(entry)
    duration = entry.get("duration_s")
    took = (f"{duration:.1f} s" if duration < 10 else f"{duration:.0f} s") if duration else ""
    return Text(name), state, Text(took if row["state"] == "done" else "", style="dim")
