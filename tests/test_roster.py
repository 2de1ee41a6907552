"""GitHub Classroom rosters: parsing, matching submissions to students, missing students."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.batch.roster import Roster, RosterError, Student
from grader.rubric import Rubric

CLASSROOM_EXPORT = (
    '\ufeff"identifier","github_username","github_id","name"\r\n'
    '"maria.garcia@uni.example","MGarcia","1001","Maria Garcia"\r\n'
    '"s1002","tomas-o","1002","Tomás Oliveira"\r\n'
    '"s1003","","",""\r\n'
    '"s1004","g","1004","Gee"\r\n'
    '"","lonely-user","1005","Only A Username"\r\n'
    '"","","",""\r\n'
)


@pytest.fixture
def roster(tmp_path: Path) -> Roster:
    path = tmp_path / "classroom_roster.csv"
    path.write_text(CLASSROOM_EXPORT, encoding="utf-8")
    return Roster.load(path)


def test_parses_the_classroom_export(roster: Roster) -> None:
    assert [student.key for student in roster.students] == [
        "maria.garcia@uni.example", "s1002", "s1003", "s1004", "lonely-user"]
    tomas = roster.students[1]
    assert tomas == Student("s1002", "tomas-o", "1002", "Tomás Oliveira")
    assert tomas.to_dict() == {"identifier": "s1002", "github_username": "tomas-o", "github_id": "1002",
                               "name": "Tomás Oliveira"}
    assert Student.from_dict(tomas.to_dict()) == tomas
    assert roster.students[2].display_name == "s1003"


def test_columns_in_any_order_and_case() -> None:
    roster = Roster.parse("Name, GitHub_Username ,identifier\nAna,ana-gh,A1\n")
    assert roster.students == [Student("A1", "ana-gh", "", "Ana")]


@pytest.mark.parametrize("folder,key", [
    ("maria.garcia@uni.example", "maria.garcia@uni.example"),   # identifier
    ("MARIA.GARCIA@UNI.EXAMPLE", "maria.garcia@uni.example"),   # case-insensitive
    ("mgarcia", "maria.garcia@uni.example"),                    # github username, other case
    (" tomas-o ", "s1002"),
    ("S1003", "s1003"),
    ("lab3-redis-tomas-o", "s1002"),                            # Classroom repo name: <assignment>-<username>
    ("lab3-mgarcia", "maria.garcia@uni.example"),
    ("lonely-user", "lonely-user"),
])
def test_match(roster: Roster, folder: str, key: str) -> None:
    student = roster.match(folder)
    assert student is not None and student.key == key


@pytest.mark.parametrize("folder", ["somebody", "tomas", "mgarcia-lab3", "lab3-", ""])
def test_no_match(roster: Roster, folder: str) -> None:
    assert roster.match(folder) is None


def test_longest_username_suffix_wins(roster: Roster) -> None:
    # "g" and "mgarcia" both end "lab3-mgarcia"? Only "-mgarcia" is a suffix with the dash; check "lab3-g" too.
    assert roster.match("lab3-g").key == "s1004"
    assert roster.match("lab3-mgarcia").key == "maria.garcia@uni.example"


def test_assign_lists_missing_unmatched_and_duplicates(roster: Roster) -> None:
    assignment = roster.assign(["mgarcia", "lab3-tomas-o", "s1002", "stranger", "lonely-user"])
    assert {name: student.key for name, student in assignment.students.items()} == {
        "mgarcia": "maria.garcia@uni.example", "lab3-tomas-o": "s1002", "s1002": "s1002",
        "lonely-user": "lonely-user"}
    assert assignment.unmatched == ["stranger"]
    assert [student.key for student in assignment.missing] == ["s1003", "s1004"]
    assert assignment.duplicates == {"s1002": ["lab3-tomas-o", "s1002"]}


def test_bad_rosters(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="no 'identifier' or 'github_username' column"):
        Roster.parse("student,score\nann,3\n")
    with pytest.raises(RosterError, match="empty"):
        Roster.parse("")
    binary = tmp_path / "roster.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(RosterError, match="not UTF-8"):
        Roster.load(binary)


def test_roster_name_reaches_the_rubric() -> None:
    rubric = Rubric()
    named = rubric.with_student_name("Maria Garcia")
    assert named.expect.student_name == "Maria Garcia"
    assert rubric.expect.student_name is None, "the shared rubric is not changed"
