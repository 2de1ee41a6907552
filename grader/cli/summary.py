"""The class summary `grader batch` and `grader report` print at the end: who passed, each check's
pass rate, the score distribution, and who on the roster handed in nothing."""
from __future__ import annotations

import statistics
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from grader.cli.entry_text import STATE_STYLES, STATE_WORDS, score_text
from grader.report import gradebook
from grader.report.entry import Column

Entry = dict[str, Any]
_FIRST = {"refused": 0, "error": 1}  # the submissions that need a person's look head the table


def print_class_summary(console: Console, entries: list[Entry], *, max_rows: int = 60) -> None:
    submissions = [entry for entry in entries if not gradebook.is_missing(entry)]
    missing = [entry for entry in entries if gradebook.is_missing(entry)]
    if not submissions:
        console.print("[yellow]No submissions were graded.[/yellow]")
    else:
        console.print(_results_table(submissions, max_rows))
        console.print(_pass_rates(submissions, gradebook.check_columns(entries)))
        print_distribution(console, [float(entry.get("score") or 0) for entry in submissions],
                           gradebook.max_score(entries))
    console.print(escape(_counts_line(submissions, missing)), highlight=False)


def _results_table(submissions: list[Entry], max_rows: int) -> Table:
    table = Table(title="Class summary", title_justify="left", header_style="bold", show_lines=False)
    table.add_column("id", overflow="fold")
    table.add_column("name", overflow="fold")
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("did not pass")
    ordered = sorted(submissions, key=lambda entry: (_FIRST.get(gradebook.state(entry), 2), gradebook.sort_key(entry)))
    for entry in ordered[:max_rows]:
        state = gradebook.state(entry)
        misses = [check["id"] for check in entry.get("checks") or [] if check.get("status") in ("failed", "error")]
        table.add_row(escape(gradebook.entry_id(entry)), escape(gradebook.entry_name(entry)), score_text(entry),
                      f"[{STATE_STYLES[state]}]{STATE_WORDS[state]}[/]", escape(", ".join(misses)))
    if len(ordered) > max_rows:
        table.add_row(f"… {len(ordered) - max_rows} more", "", "", "", "(see grades.csv)")
    return table


def _pass_rates(submissions: list[Entry], columns: list[Column]) -> Table:
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
    return checks


def _counts_line(submissions: list[Entry], missing: list[Entry]) -> str:
    counts = {state: sum(1 for entry in submissions if gradebook.state(entry) == state)
              for state in ("passed", "failed", "refused", "error")}
    line = (f"{len(submissions)} submission(s): {counts['passed']} passed, {counts['failed']} not passed, "
            f"{counts['refused']} refused, {counts['error']} error(s)")
    if missing:
        names = ", ".join(gradebook.entry_name(entry) or gradebook.entry_id(entry) for entry in missing[:10])
        line += f"; {len(missing)} student(s) on the roster submitted nothing: {names}" + (" …" if len(missing) > 10 else "")
    return line


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
