"""Issue 10's concrete cases, one named test each: false failures, false passes, and feedback
that must point at the right file and line.

Each grades a small folder statically through ``grader.grade`` (no Docker engine needed) and
asserts exactly what the issue asks.
"""
from __future__ import annotations

import codecs
import os
from pathlib import Path

import pytest

import grader
from grader.results import CheckResult, GradeResult, Location

STATIC = ("compose-file", "redis-image", "redis-port", "named-volume")
CORRECT = """\
services:
  redis:
    image: redis:alpine
    ports:
      - "6379:6379"
    volumes:
      - redis_data:/data
volumes:
  redis_data:
"""


def grade(folder: Path, files: dict[str, str | bytes], links: dict[str, str] | None = None) -> GradeResult:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    for name, target in (links or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, folder / name)
    return grader.grade(folder, mode="static")


def check_of(result: GradeResult, check_id: str) -> CheckResult:
    found = result.check(check_id)
    assert found is not None, f"the grading has no {check_id} check"
    return found


def statuses(result: GradeResult) -> dict[str, str]:
    return {check: check_of(result, check).status.value for check in STATIC}


def all_text(result: GradeResult) -> str:
    fields = ("message", "hint", "found", "expected", "details")
    return "\n".join(str(getattr(check, field) or "") for check in result.checks for field in fields)


def with_image(image_line: str) -> str:
    return CORRECT.replace("    image: redis:alpine\n", image_line)


def test_the_correct_submission_passes(tmp_path: Path) -> None:
    """The control: what every case below varies passes all static checks and breaks no rule."""
    result = grade(tmp_path / "s", {"compose.yaml": CORRECT})
    assert statuses(result) == dict.fromkeys(STATIC, "passed")
    assert result.policy == []


# False failures ---------------------------------------------------------------------------------

def test_a_committed_virtualenv_costs_no_points(tmp_path: Path) -> None:
    result = grade(tmp_path / "s", {"compose.yaml": CORRECT, "app.py": "print('hi')\n"},
                   links={"venv/bin/python": "/usr/bin/python3"})
    assert statuses(result) == dict.fromkeys(STATIC, "passed")
    assert result.policy == [], "Compose never reads venv/bin/python: nothing to refuse"


def test_several_yaml_documents_are_merged_as_compose_does(tmp_path: Path) -> None:
    text = CORRECT.replace("volumes:\n  redis_data:\n", "---\nvolumes:\n  redis_data:\n")
    assert text.count("---") == 1
    result = grade(tmp_path / "s", {"compose.yaml": text})
    assert statuses(result) == dict.fromkeys(STATIC, "passed")


def test_a_tab_after_image_is_accepted(tmp_path: Path) -> None:
    result = grade(tmp_path / "s", {"compose.yaml": with_image("    image:\tredis:alpine\n")})
    assert statuses(result) == dict.fromkeys(STATIC, "passed")


def test_a_tab_before_a_comment_is_accepted(tmp_path: Path) -> None:
    result = grade(tmp_path / "s", {"compose.yaml": with_image("    image: redis:alpine\t# the small one\n")})
    assert statuses(result) == dict.fromkeys(STATIC, "passed")


@pytest.mark.parametrize("bom, codec", [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")],
                         ids=["utf-16-le", "utf-16-be"])
def test_utf16_with_a_bom_is_read(tmp_path: Path, bom: bytes, codec: str) -> None:
    result = grade(tmp_path / "s", {"compose.yaml": bom + CORRECT.encode(codec)})
    assert statuses(result) == dict.fromkeys(STATIC, "passed")


def test_published_with_a_leading_zero_is_port_6379(tmp_path: Path) -> None:
    text = CORRECT.replace('      - "6379:6379"\n', '      - target: 6379\n        published: "06379"\n')
    result = grade(tmp_path / "s", {"compose.yaml": text})
    assert check_of(result, "redis-port").status.value == "passed"


# False passes -----------------------------------------------------------------------------------

@pytest.mark.parametrize("image_line, found, why", [
    ("    image: REDIS:ALPINE\n", "REDIS:ALPINE", ("lowercase",)),
    ("    image: Redis:alpine\n", "Redis:alpine", ("lowercase",)),
    ('    image: "redis:alpine "\n', "redis:alpine ", ("space", "whitespace")),
    ("    image: |\n      redis:alpine\n", "redis:alpine\n", ("newline", "line break")),
    ("    image: redis:alpine@sha256:abc\n", "redis:alpine@sha256:abc", ("digest",)),
], ids=["REDIS:ALPINE", "Redis:alpine", "trailing-space", "block-newline", "short-digest"])
def test_a_reference_docker_rejects_fails_redis_image_saying_why(tmp_path: Path, image_line: str, found: str,
                                                                  why: tuple[str, ...]) -> None:
    check = check_of(grade(tmp_path / "s", {"compose.yaml": with_image(image_line)}), "redis-image")
    assert check.status.value == "failed"
    assert check.found == found, "the reference as the student wrote it, not a normalised one"
    assert any(word in check.message.lower() for word in why), check.message
    assert check.location == Location("compose.yaml", 3)


def test_a_tag_in_another_case_is_another_tag(tmp_path: Path) -> None:
    check = check_of(grade(tmp_path / "s", {"compose.yaml": with_image("    image: redis:Alpine\n")}), "redis-image")
    assert check.status.value == "failed"
    assert check.found == "redis:Alpine"


# Feedback that points at the right file and line ----------------------------------------------

_PORTS_AS_TEXT = '    ports: "6379:6379"\n'  # a schema error Compose pins to one line (line 4 below)
_BAD_REDIS = "services:\n  redis:\n    image: redis:alpine\n" + _PORTS_AS_TEXT


def compose_error(folder: Path, files: dict[str, str | bytes], file: str, line: int | None) -> None:
    """compose-file fails, located in ``file`` (at ``line``), and a file other than the
    main one is named in the message too: Compose's own text loses it."""
    check = check_of(grade(folder, files), "compose-file")
    assert check.status.value == "failed"
    assert check.location is not None and check.location.file == file, (check.location, check.message)
    if line is not None:
        assert check.location.line == line, check.location
    if file != "compose.yaml":
        assert file in check.message, check.message


def test_an_error_in_compose_yaml_is_located_at_its_line(tmp_path: Path) -> None:
    text = CORRECT.replace('    ports:\n      - "6379:6379"\n', _PORTS_AS_TEXT)
    compose_error(tmp_path / "s", {"compose.yaml": text}, "compose.yaml", 4)


def test_an_error_in_dotenv_is_located_in_dotenv(tmp_path: Path) -> None:
    env = "# which Redis\nREDIS_TAG=alpine\nREDIS IMAGE=redis:alpine\n"
    compose_error(tmp_path / "s", {"compose.yaml": with_image("    image: redis:${REDIS_TAG}\n"), ".env": env},
                  ".env", 3)


def test_an_error_in_the_override_file_is_located_in_it(tmp_path: Path) -> None:
    compose_error(tmp_path / "s", {"compose.yaml": CORRECT, "compose.override.yaml": _BAD_REDIS},
                  "compose.override.yaml", 4)


def test_a_syntax_error_in_the_override_file_names_that_file(tmp_path: Path) -> None:
    """The line of a mis-indented key differs between YAML parsers: only the file is asserted."""
    override = "services:\n  redis:\n    image: redis:alpine\n   ports: []\n"
    compose_error(tmp_path / "s", {"compose.yaml": CORRECT, "compose.override.yaml": override},
                  "compose.override.yaml", None)


def test_an_error_in_an_included_file_is_located_in_it(tmp_path: Path) -> None:
    compose_error(tmp_path / "s", {"compose.yaml": "include:\n  - redis.yaml\n", "redis.yaml": _BAD_REDIS},
                  "redis.yaml", 4)


def test_an_error_in_an_extended_file_is_located_in_it(tmp_path: Path) -> None:
    main = "services:\n  redis:\n    extends:\n      file: base.yaml\n      service: redis\n"
    compose_error(tmp_path / "s", {"compose.yaml": main, "base.yaml": _BAD_REDIS}, "base.yaml", 4)


def test_a_bind_mount_is_shown_as_the_student_wrote_it(tmp_path: Path) -> None:
    text = CORRECT.replace("      - redis_data:/data\n", "      - ./data:/data\n")
    result = grade(tmp_path / "s", {"compose.yaml": text})
    check = check_of(result, "named-volume")
    assert check.status.value == "failed"
    assert "./data" in f"{check.message} {check.found}"
    assert "grader-ws-" not in all_text(result) and "/tmp/" not in all_text(result)


def test_of_two_redis_services_the_first_in_the_file_is_graded(tmp_path: Path) -> None:
    text = CORRECT.replace("  redis:\n", "  zcache:\n").replace("volumes:\n  redis_data:",
                                                              "  amemo:\n    image: redis:latest\nvolumes:\n  redis_data:")
    assert text.index("zcache") < text.index("amemo")
    result = grade(tmp_path / "s", {"compose.yaml": text})
    assert result.services["redis"] == "zcache"
    assert statuses(result) == dict.fromkeys(STATIC, "passed")


def test_a_redis_service_under_a_profile_is_told_about_the_profile(tmp_path: Path) -> None:
    text = CORRECT.replace("    image: redis:alpine\n", "    image: redis:alpine\n    profiles: [db]\n")
    text = text.replace("volumes:\n  redis_data:", "  web:\n    image: python:3.11-slim\nvolumes:\n  redis_data:")
    check = check_of(grade(tmp_path / "s", {"compose.yaml": text}), "redis-image")
    assert check.status.value == "failed"
    assert "profile" in check.message and "db" in check.message, check.message
    assert "no service is named" not in check.message
    assert check.location == Location("compose.yaml", 4)


def test_a_udp_port_gets_a_hint_about_udp(tmp_path: Path) -> None:
    text = CORRECT.replace('"6379:6379"', '"6379:6379/udp"')
    check = check_of(grade(tmp_path / "s", {"compose.yaml": text}), "redis-port")
    assert check.status.value == "failed"
    assert "/udp" in (check.hint or ""), check.hint
    assert "host port comes first" not in (check.hint or "")


def test_an_image_set_in_dotenv_is_blamed_on_dotenv(tmp_path: Path) -> None:
    env = "# chosen by me\nREDIS_IMAGE=redis:latest\n"
    result = grade(tmp_path / "s", {"compose.yaml": with_image("    image: ${REDIS_IMAGE:-redis:alpine}\n"),
                                    ".env": env})
    check = check_of(result, "redis-image")
    assert check.status.value == "failed"
    hint = check.hint or ""
    assert ".env:2" in hint or (".env" in hint and check.location == Location(".env", 2)), (hint, check.location)


def test_a_top_level_typo_is_located_with_a_hint(tmp_path: Path) -> None:
    text = CORRECT.replace("volumes:\n  redis_data:", "volume:\n  redis_data:")
    check = check_of(grade(tmp_path / "s", {"compose.yaml": text}), "compose-file")
    assert check.status.value == "failed"
    assert check.location == Location("compose.yaml", 8)
    assert "volumes" in (check.hint or ""), check.hint


def test_a_refused_submission_keeps_its_static_checks(tmp_path: Path) -> None:
    (tmp_path / "outside.env").write_text("GREETING=hello\n")
    text = CORRECT.replace("    volumes:\n      - redis_data", "    env_file: ../outside.env\n    volumes:\n      - redis_data")
    result = grade(tmp_path / "s", {"compose.yaml": text})
    assert [v.rule for v in result.policy] == ["file-outside"]
    assert result.policy[0].location == Location("compose.yaml", 6)
    assert statuses(result) == dict.fromkeys(STATIC, "passed")
