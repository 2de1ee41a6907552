"""Which redis-cli text (as OCR gives it) counts as the key holding a value: pure logic."""
from __future__ import annotations

import json

import pytest

from grader.evidence.redis_text import KeySighting, find_key_value, key_matches, unescape

P = "127.0.0.1:6379>"


@pytest.mark.parametrize(("text", "value", "pattern"), [
    (f'{P} GET student_name\n"Maria Garcia"', "Maria Garcia", "get-reply"),
    (f'{P} get Student_Name\n\u201cMaria Garcia\u201d', "Maria Garcia", "get-reply"),
    (f'{P} GET student name\n"Maria Garcia', "Maria Garcia", "get-reply"),        # key split, quote lost
    (f'{P} GET studentname\n"Maria Garcia"', "Maria Garcia", "get-reply"),
    (f'{P} GET studemt_name\n"Maria Garcia"', "Maria Garcia", "get-reply"),       # one misread letter
    ('redis:6379> GET student-name\n"Maria Garcia"', "Maria Garcia", "get-reply"),
    ('0.0.1:6379> GET student_name\n"Aisha Okafor"', "Aisha Okafor", "get-reply"),  # prompt cropped
    ('$ docker compose exec redis redis-cli GET student_name\n"Maria"', "Maria", "get-reply"),
    ('$ redis-cli --raw GET student_name\nMaria Garcia\n$', "Maria Garcia", "get-reply-unquoted"),
    (f'{P} GET student_name\n"Jos\\xc3\\xa9 N\\xc3\\xba\\xc3\\xb1ez"', "José Núñez", "get-reply"),
    (f"{P} SET student_name 'Jan Kowalski'\nOK\n{P}", "Jan Kowalski", "set-ok"),
    (f'{P} SET student_name "Noor Haddad" EX 3600\n0K', "Noor Haddad", "set-ok"),
    (f'{P} SET student_name Maria\nok', "Maria", "set-ok"),
    (f'{P} SET student_name Lukas Becker\nOK', "Lukas Becker", "set-ok"),          # quotes lost by OCR
    (f'{P} GET student_name\n(nil)\n{P} SET student_name "Ana Silva"\nOK', "Ana Silva", "set-ok"),
    (f'{P} SET student_name "Old"\nOK\n{P} GET student_name\n"New Name"', "New Name", "get-reply"),
])
def test_evidence(text: str, value: str, pattern: str) -> None:
    sighting = find_key_value(text)
    assert (sighting.evidence, sighting.value, sighting.pattern) == (True, value, pattern), sighting.why


@pytest.mark.parametrize(("text", "why"), [
    (f'{P} SET name "Maria Garcia"\nOK\n{P} GET name\n"Maria Garcia"', "keys seen: name"),
    (f'{P} GET student_names\n"Maria"', "keys seen: student_names"),
    (f'{P} GET student\n"Maria"', "keys seen: student"),
    (f"{P} PING\nPONG\n{P} DBSIZE\n(integer) 0", "no redis-cli command with student_name"),
    ("", "no redis-cli command"),
    (f"{P} GET student_name\n(nil)", "(nil)"),
    (f"{P} SET student_name Maria Garcia\n(error) ERR syntax error", "refused: (error) ERR syntax error"),
    (f'{P} GET student_name\n""', "empty string"),
    (f"{P} GET student_name\n{P} []", "not its answer"),                          # answer off screen
    (f"{P} GET student_name", "not its answer"),                                  # cropped at the bottom
    (f'{P} SET student_name "Maria"', "not its answer"),
    (f'{P} SET student_name "Maria"\nOK\n{P} GET student_name\n(nil)', "(nil)"),   # taken back later
    (f'{P} SET student_name "Maria"\nOK\n{P} DEL student_name\n(integer) 1', "deleted"),
    (f"{P} GET student_name\n[]", "its answer ([]) shows no value"),              # a cursor is no name
    (f'{P} SET student_name "Maria"\nQUEUED', "its answer (QUEUED) shows no value"),
])
def test_no_evidence(text: str, why: str) -> None:
    sighting = find_key_value(text)
    assert not sighting.evidence and sighting.value is None and sighting.pattern == "none"
    assert why in sighting.why


def test_a_later_error_does_not_take_back_a_value() -> None:
    text = f'{P} SET student_name "Maria"\nOK\n{P} SET student_name a b c\n(error) ERR syntax error'
    assert find_key_value(text).value == "Maria"


def test_the_rubrics_key_is_the_one_looked_for() -> None:
    text = f'{P} GET name\n"Maria Garcia"'
    assert find_key_value(text, key="name").value == "Maria Garcia"
    assert not find_key_value(text, key="student_name").evidence


def test_lines_point_at_the_command_and_its_answer() -> None:
    lines = ["student@laptop:~$ redis-cli", "", f"{P} GET student_name", "", '"Maria"']
    assert find_key_value(lines).lines == (2, 4)


@pytest.mark.parametrize(("seen", "same"), [
    ("student_name", True), ("STUDENT_NAME", True), ("student name", True), ("student.name", True),
    ("studentnarne", False), ("name", False), ("student_names", False), ("teacher_name", False),
])
def test_key_matches(seen: str, same: bool) -> None:
    assert key_matches(seen, "student_name") is same


def test_short_keys_need_an_exact_match() -> None:
    assert key_matches("name", "name") and not key_matches("nane", "name")


def test_unescape() -> None:
    assert unescape('a\\"b\\\\c\\n') == 'a"b\\c\n'
    assert unescape("\\xff") == "\ufffd"


def test_sighting_round_trips_through_its_dict() -> None:
    sighting = find_key_value(f'{P} GET student_name\n"Maria"')
    assert KeySighting.from_dict(json.loads(json.dumps(sighting.to_dict()))) == sighting
