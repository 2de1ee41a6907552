"""Grade files for Canvas, Moodle, Blackboard and Brightspace, byte for byte and end to end.

The expected files in tests/data/lms/expected/ were written by hand from each LMS's
documented import format (grader/report/formats/lms.py says where each comes from); the rows are
the students of the matching download in tests/data/lms/.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

import grader
from grader.lms import LmsError, materialise, read_download
from grader.report.formats.lms import (
    GradeRow,
    blackboard_grade_center,
    brightspace_grades,
    canvas_gradebook,
    feedback_lines,
    moodle_worksheet,
    write_grade_file,
)
from grader.lms.brightspace import with_class_list
from grader.lms.model import Identity

DATA = Path(__file__).parent / "data" / "lms"
EXPECTED = DATA / "expected"
NOW = datetime(2025, 3, 5, 12, 0, tzinfo=timezone.utc)


def expected(name: str) -> str:
    return (EXPECTED / name).read_bytes().decode("utf-8")


def rows_for(folder: str, scores: dict[str, float | None], maximum: float = 14, **options: Any) -> list[GradeRow]:
    download = read_download(DATA / folder, **options)
    return [GradeRow(item.identity, scores[item.identity.key], maximum) for item in download.submissions]


def check(id: str, title: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": id, "title": title, "status": status, "points": 0, "max_points": 2, "bonus": False, "message": "",
            "hint": None, "location": None, "expected": None, "found": None, **extra}


def test_canvas_gradebook_byte_for_byte() -> None:
    rows = rows_for("canvas", {"40101": 14, "40103": 5, "40104": 0, "40105": 12.5, "40102": 17})
    written = canvas_gradebook(rows, "Compose Lab", "123456")
    assert written.text == expected("canvas.csv")
    assert (written.written, written.skipped) == (5, ())
    header = next(csv.reader(io.StringIO(written.text)))
    assert header[:4] == ["Student", "ID", "SIS Login ID", "Section"]
    assert re.fullmatch(r"(.*)\s\((\d+)\)", header[4]).groups() == ("Compose Lab", "123456")  # Canvas's own pattern


def test_canvas_anonymous_rows_are_reported_not_written() -> None:
    rows = rows_for("canvas_anonymous", {"Qx7kP": 14, "b3ZtW": 7})
    written = canvas_gradebook(rows, "Compose Lab", "123456")
    assert written.text == "Student,ID,SIS Login ID,Section,Compose Lab (123456)\r\n" and written.written == 0
    assert [why for _, why in written.skipped] == [written.skipped[0][1]] * 2
    assert "anonymous" in written.skipped[0][1]
    with pytest.raises(LmsError, match="digits"):
        canvas_gradebook(rows, "Compose Lab", "12a")


def test_moodle_worksheet_byte_for_byte() -> None:
    download = read_download(DATA / "moodle")
    jane, jose = (item.identity for item in download.submissions)
    port = check("redis-port", "Redis port 6379 is published on the host", "failed",
                 message="The service `redis` does not publish container port 6379 on host port 6379.",
                 expected="6379:6379 (host:container)", found="6380→6379/tcp",
                 hint='Change the mapping to "6379:6379": the host port comes first, the container port second.',
                 location={"file": "docker-compose.yaml", "line": 7})
    odd = check("odd", "Port <b> check", "failed", message="a, b & c", location={"file": "compose.yaml", "line": None})
    results = [{"score": 14, "max_score": 14, "checks": [check("compose-file", "A valid Compose file", "passed")]},
               {"score": 5, "max_score": 14, "checks": [port, check("stack-up", "Boots", "skipped"), odd]}]
    rows = [GradeRow.from_result(jane, results[0]), GradeRow.from_result(jose, results[1])]
    written = moodle_worksheet(rows, now=NOW)
    assert written.text == expected("moodle.csv")
    table = list(csv.DictReader(io.StringIO(written.text)))
    assert {"Identifier", "Grade", "Last modified (grade)", "Feedback comments"} <= set(table[0])  # what the import needs
    assert [row["Identifier"] for row in table] == ["Participant 1042", "Participant 1043"]
    assert datetime.fromisoformat(table[0]["Last modified (grade)"]) == NOW


def test_moodle_blind_marking_and_teams() -> None:
    blind = moodle_worksheet(rows_for("moodle_blind", {"4021": 14, "4022": 5}), now=NOW)
    assert [row["Identifier"] for row in csv.DictReader(io.StringIO(blind.text))] == ["Participant 4021", "Participant 4022"]
    teams = moodle_worksheet(rows_for("moodle_team", {"12": 14, "Default group": 5}, groups=True), now=NOW)
    assert teams.written == 0 and sorted(who for who, _ in teams.skipped) == ["Default group", "Team Blue"]


def test_blackboard_grade_center_byte_for_byte() -> None:
    rows = rows_for("blackboard", {"jdoe": 14, "k_lee": 7})
    written = blackboard_grade_center(rows, "Compose Lab", "654321")
    assert written.text == expected("blackboard.csv")
    assert blackboard_grade_center(rows, "Compose Lab", "_654321").text == written.text
    with pytest.raises(LmsError, match="column id"):
        blackboard_grade_center(rows, "Compose Lab", "")


def test_brightspace_grades_byte_for_byte() -> None:
    download = read_download(DATA / "brightspace")
    placed, unplaced = with_class_list(list(download.submissions), (DATA / "brightspace_class_list.csv").read_text())
    scores = {"Jane Doe": 14, "Ana García": 7}
    rows = [GradeRow(item.identity, scores[item.identity.display_name], 14) for item in placed]
    assert brightspace_grades(rows, "Compose Lab").text == expected("brightspace.csv")
    unmatched = brightspace_grades([GradeRow(item.identity, 14, 14) for item in download.submissions], "Compose Lab")
    assert unmatched.written == 0 and len(unmatched.skipped) == 2 and unplaced == []
    with pytest.raises(LmsError, match="grade item"):
        brightspace_grades(rows, "=Compose Lab")


def test_points_possible_rescales_and_no_submission_writes_no_row() -> None:
    rows = rows_for("canvas", {"40101": 7, "40103": 14, "40104": None, "40105": 0, "40102": 3.5})
    written = canvas_gradebook(rows, "Compose Lab", "1", points_possible=100)
    assert [row[4] for row in csv.reader(io.StringIO(written.text))][1:] == ["50", "100", "0", "25"]
    assert written.skipped == (("leeminho", "no submission, so no grade"),)


def test_spreadsheet_formulas_are_quoted_away_but_ids_are_never_altered() -> None:
    evil = Identity("canvas", "=HYPERLINK(\"http://e.vil\")", user_id="40101")
    forged_id = Identity("canvas", "x", user_id="=1+1")
    written = canvas_gradebook([GradeRow(evil, 1, 2), GradeRow(forged_id, 1, 2)], "@SUM(A1)", "7")
    lines = list(csv.reader(io.StringIO(written.text)))
    assert lines[0][4] == "'@SUM(A1) (7)" and lines[1][:2] == ["'=HYPERLINK(\"http://e.vil\")", "40101"]
    assert len(lines) == 2 and written.skipped[0][0] == "x"
    moodle = moodle_worksheet([GradeRow(Identity("moodle", "+Bob", participant_id="9"), 1, 2, ("-1 point",))], now=NOW)
    row = next(csv.DictReader(io.StringIO(moodle.text)))
    assert (row["Full name"], row["Feedback comments"]) == ("'+Bob", "'-1 point")


def test_feedback_lines_are_few_and_plain() -> None:
    checks = [check(f"c{n}", f"Check {n}", "failed", message=f"line one\nline two {n}", hint="do \x1b[31mthis") for n in range(9)]
    lines = feedback_lines({"score": 0, "max_score": 18, "checks": checks,
                            "policy": [{"rule": "privileged", "message": "privileged: true is not allowed"}]})
    assert lines[0] == "compose-grader: 0 / 18" and lines[1].startswith("Refused by the safety policy: privileged")
    assert lines[2] == "✗ Check 0: line one line two 0 Fix: do [31mthis" and lines[-1] == "… and 3 more: see your report"
    assert len(lines) == 9


@pytest.mark.parametrize("folder,lms,options", [
    ("canvas", "canvas", {"assignment": "Compose Lab", "assignment_id": "42"}),
    ("moodle", "moodle", {"now": NOW}),
    ("blackboard", "blackboard", {"assignment": "Compose Lab", "assignment_id": "654321"}),
    ("brightspace", "brightspace", {"assignment": "Compose Lab"})])
def test_download_to_grade_file_end_to_end(folder: str, lms: str, options: dict[str, Any], tmp_path: Path) -> None:
    """Read the download, materialise and grade each student (static), write the LMS's file: one right row each."""
    download = read_download(DATA / folder)
    submissions = list(download.submissions)
    if lms == "brightspace":
        submissions, _ = with_class_list(submissions, (DATA / "brightspace_class_list.csv").read_text())
    rows, scores = [], {}
    for submission in submissions:
        result = grader.grade(materialise(submission, download.root, tmp_path).folder, mode="static").to_dict()
        rows.append(GradeRow.from_result(submission.identity, result))
        scores[submission.identity] = result["score"]
    path = write_grade_file(lms, rows, **options).write(tmp_path / f"{lms}.csv")
    table = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"))))
    id_column, score_column = {"canvas": (1, 4), "moodle": (0, 4), "blackboard": (2, 3), "brightspace": (0, 2)}[lms]
    written = {row[id_column]: row[score_column] for row in table[1:]}
    assert len(written) == len(rows) >= 2
    for identity, score in scores.items():
        key = {"canvas": identity.user_id, "moodle": f"Participant {identity.participant_id}",
               "blackboard": identity.username, "brightspace": f"#{identity.org_defined_id}"}[lms]
        assert float(written[key]) == pytest.approx(score, abs=0.005)
    if lms in ("canvas", "moodle"):
        assert len(set(written.values())) > 1  # a right and a wrong port: each student's own score
