"""`grader report`: re-render a class's reports, dashboard and grades from its results.json,
without grading anything."""
from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from grader.cli.lms_options import GradeFileRequest, grade_file_options, print_grade_file
from grader.cli.summary import print_class_summary
from grader.report import gradebook


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
    outputs = gradebook.render_outputs(entries, out, write_results=not same, grade_file=grade_request,
                                       notes={"title": f"{folder}: class results"})
    print_class_summary(console, entries)
    console.print(f"\nRe-rendered {len(outputs.reports)} report(s).\nDashboard: {escape(str(outputs.index))}\n"
                  f"Grades:    {escape(str(outputs.grades))}", highlight=False)
    print_grade_file(console, outputs.grade_file)
