"""The GitHub Action's reporting step: ``python -m grader.report.formats.github --result result.json``.

Run after ``grader check --json result.json`` (see action.yml). It

- writes the step outputs to ``$GITHUB_OUTPUT``: ``result`` (base64 JSON for GitHub
  Classroom's ``autograding-grading-reporter``), ``score``, ``max-score``, ``report`` (path of
  the HTML report, "" when there is none), ``status`` (pass/fail/error) and ``passed``;
- appends the Markdown summary to ``$GITHUB_STEP_SUMMARY``;
- prints an ``::error`` workflow command for each failed check that has a location, so the
  failure shows on that line of the student's file;
- exits 0 whenever it could write its outputs, whatever the score: the reporter, which runs
  next, reports the points and then fails the job itself when the status is not "pass".
  ``--fail-step true`` makes this step fail instead (for workflows without the reporter).

When the grader wrote no result (it could not run at all), the outputs still carry a
``result`` with status "error", so the reporter explains instead of crashing.
"""
from __future__ import annotations

import argparse
import os
import sys
import uuid
from pathlib import Path

from grader.report.formats import AnyResult
from grader.report.formats.classroom import (
    encode_classroom,
    error_classroom,
    to_classroom,
)
from grader.report.formats.gradescope import load_result
from grader.report.formats.markdown import prose, to_markdown
from grader.report.visibility import student_view
from grader.results import CheckResult, GradeResult, Location, Status, points_text


def _truthy(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def write_outputs(path: str | None, outputs: dict[str, str]) -> None:
    """Append ``outputs`` to the ``$GITHUB_OUTPUT`` file (multi-line values use a delimiter)."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            value = str(value)
            if "\n" in value or "\r" in value:
                delimiter = f"ghadelimiter_{uuid.uuid4()}"
                handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
            else:
                handle.write(f"{name}={value}\n")


def _command_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _command_property(text: str) -> str:
    return _command_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(check: CheckResult, location: Location, prefix: str) -> str:
    """``::error file=...,line=...,title=...::message`` for a failed check at ``location``."""
    file = os.path.normpath(os.path.join(prefix, location.file)) if prefix else location.file
    message = check.message + (f"\nFix: {check.hint}" if check.hint else "")
    properties = [f"file={_command_property(file)}"]
    if location.line:
        properties.append(f"line={_command_property(str(location.line))}")
    title = check.id + (f": {check.title}" if check.title else "")
    properties.append(f"title={_command_property(title)}")
    return f"::error {','.join(properties)}::{_command_data(message)}"


def annotations(value: AnyResult, prefix: str = "") -> list[str]:
    """An ``::error`` workflow command for each failed check with a location (of those a student is shown)."""
    return [_annotation(check, check.location, prefix) for check in student_view(value).result.checks
            if check.status is Status.FAILED and check.location]


def _report_path(result: GradeResult | None, report_dir: Path | None) -> str:
    if not report_dir or not report_dir.is_dir():
        return ""
    if result and result.submission:
        candidate = report_dir / f"{result.submission}.html"
        if candidate.is_file():
            return str(candidate.resolve())
    found = sorted(report_dir.glob("*.html"))
    return str(found[0].resolve()) if len(found) == 1 else ""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m grader.report.formats.github",
                                     description="Write the GitHub Action's outputs and step summary.")
    parser.add_argument("--result", required=True, type=Path, help="the JSON of `grader check --json`")
    parser.add_argument("--min-score", default="0", help="score below which the status is 'fail' (default 0)")
    parser.add_argument("--report-dir", type=Path, help="the folder `grader check --out` wrote the HTML report to")
    parser.add_argument("--exit-code", type=int, help="exit status of `grader check`, quoted when it wrote no result")
    parser.add_argument("--path", default="", help="the graded folder, relative to the repository (for annotations)")
    parser.add_argument("--fail-step", default="false", help="'true': exit 1 unless the status is 'pass'")
    return parser.parse_args(argv)


def _no_result(why: str, args: argparse.Namespace) -> tuple[dict[str, str], str]:
    """The outputs and summary when the grader wrote no result: status error, and why."""
    if args.exit_code is not None:
        why += f" (grader check exited with status {args.exit_code}; its log above says why)"
    classroom = error_classroom(f"The grader could not grade this submission: {why}")
    outputs = {"result": encode_classroom(classroom), "score": "0", "max-score": "0",
               "report": _report_path(None, args.report_dir), "status": "error", "passed": "false"}
    print(f"::error title=compose-grader::{_command_data('The grader could not grade this submission: ' + why)}")
    return outputs, f"## ⚠️ compose-grader could not grade this submission\n\n{prose(why)}\n"


def _graded(result: GradeResult, min_score: float, args: argparse.Namespace) -> tuple[dict[str, str], str]:
    """The outputs and summary of a grading; its annotations are printed."""
    classroom = to_classroom(result, min_score)
    outputs = {"result": encode_classroom(classroom), "score": points_text(result.score),
               "max-score": points_text(result.max_score), "report": _report_path(result, args.report_dir),
               "status": classroom["status"], "passed": "true" if result.passed else "false"}
    summary = to_markdown([result])
    if min_score and result.score < min_score:
        summary += f"\nBelow the minimum score to pass ({points_text(min_score)}).\n"
    for command in annotations(result, args.path.strip().rstrip("/") if args.path not in ("", ".") else ""):
        print(command)
    return outputs, summary


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        min_score = float(args.min_score or 0)
    except ValueError:
        print(f"::error title=compose-grader::min-score must be a number, not {args.min_score!r}")
        return 2
    result, problem = load_result(args.result)
    outputs, summary = _graded(result, min_score, args) if result else _no_result(problem or "no result", args)
    write_outputs(os.environ.get("GITHUB_OUTPUT"), outputs)
    summary_path = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as handle:
            handle.write(summary + "\n")
    print(f"compose-grader: status {outputs['status']}, score {outputs['score']} / {outputs['max-score']}")
    if _truthy(args.fail_step) and outputs["status"] != "pass":
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
