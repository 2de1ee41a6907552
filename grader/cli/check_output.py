"""What `grader check` prints: each check as it completes, then the score (the HTML report and the
machine-readable outputs are written by grader.report)."""
from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from grader.results import CheckResult, GradeResult, Status, points_text

_STYLE = {
    Status.PASSED: ("✔", "green"),
    Status.FAILED: ("✘", "red"),
    Status.SKIPPED: ("–", "yellow"),
    Status.ERROR: ("!", "magenta"),
}


def _points(check: CheckResult) -> str:
    value = f"{points_text(check.points)}/{points_text(check.max_points)}"
    return f"+{points_text(check.points)} bonus" if check.bonus and check.status is Status.PASSED else value


def print_check(console: Console, check: CheckResult) -> None:
    mark, colour = _STYLE[check.status]
    line = Text()
    line.append(f" {mark} ", style=f"bold {colour}")
    line.append(f"{check.id:<14}", style="bold")
    line.append(f"{_points(check):>9}  ", style=colour)
    line.append(check.message)
    console.print(line, highlight=False)
    if check.status in (Status.FAILED, Status.ERROR):
        for label, value in (("expected", check.expected), ("found", check.found),
                             ("where", str(check.location) if check.location else None), ("fix", check.hint)):
            if value:
                indented = str(value).replace("\n", "\n" + " " * 29)
                console.print(f"{'':18}[dim]{label:>9}[/dim]  {escape(indented)}", highlight=False)


def print_summary(console: Console, result: GradeResult, report_path: str | None) -> None:
    if result.notice:
        console.print(f"\n[yellow]{escape(result.notice)}[/yellow]")
    print_skipped(console, result.evidence.skipped)  # an optional part of evidence missing: said once
    for violation in result.policy:
        console.print(f"[red]refused:[/red] {escape(violation.message)} [dim]({escape(str(violation))})[/dim]")
    bonus = result.bonus_points
    extra = f" (including {points_text(bonus)} bonus)" if bonus else ""
    colour = "green" if result.passed else "red"
    score = f"{points_text(result.score)} / {points_text(result.max_score)}"
    console.print(f"\n[bold {colour}]Score: {score}{extra}[/bold {colour}]"
                  f"  [dim]{result.duration_s:.1f} s, {result.mode} mode[/dim]")
    if report_path:
        console.print(f"[dim]Report: {escape(report_path)}[/dim]")


def print_skipped(console: Console, skipped: list[str]) -> None:
    """What evidence could not be recorded here (an optional part missing), each line once."""
    for line in dict.fromkeys(skipped):
        console.print(f"[dim]{escape(line)}[/dim]", highlight=False)
