"""The rubric: defaults, an instructor's YAML file, and clear errors for mistakes in it."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.rubric import (
    CheckOverride,
    Expectations,
    Limits,
    Rubric,
    RubricError,
    load_rubric,
)


def rubric_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rubric.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str) -> Rubric:
    return load_rubric(rubric_file(tmp_path, text))


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(RubricError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_defaults() -> None:
    rubric = load_rubric(None)
    assert rubric == Rubric()
    assert rubric.expect == Expectations(image="redis:alpine", port=6379, key="student_name", volume_path="/data",
                                         web_port=5000, student_name=None)
    assert rubric.limits.memory == "512m" and rubric.limits.cpus == 1.0 and rubric.limits.pids == 256
    assert rubric.limits.settle_s > 0 and rubric.limits.check_timeout_s > 0
    assert rubric.checks == {}
    assert rubric.allowed_policy_rules == frozenset()
    assert rubric.extra_check_dirs == ()
    for check_id, points in [("redis-image", 2), ("flask-counter", 3), ("anything", 1.5)]:
        assert rubric.enabled(check_id)
        assert rubric.points_for(check_id, points) == points


def test_rubric_error_is_a_grader_error() -> None:
    assert issubclass(RubricError, GraderError)


def test_instructor_rubric(tmp_path: Path) -> None:
    rubric = load(tmp_path, """\
        expect:
          image: redis:7-alpine
          port: 6380
          key: student
          volume_path: /var/lib/redis
          web_port: 8000
        limits:
          memory: 256m
          cpus: 0.5
          pids: 128
          build_timeout_s: 60
        checks:
          redis-image:
            points: 5
          named-volume: {points: 0.5}
          persistence:
            enabled: false
          flask-counter: false
          student-name: null
        policy:
          allow: [privileged, host-network]
        """)
    assert rubric.expect == Expectations(image="redis:7-alpine", port=6380, key="student", volume_path="/var/lib/redis",
                                         web_port=8000)
    assert rubric.limits == Limits(memory="256m", cpus=0.5, pids=128, build_timeout_s=60)
    assert rubric.points_for("redis-image", 2) == 5
    assert rubric.points_for("named-volume", 2) == 0.5
    assert rubric.points_for("redis-port", 2) == 2  # not mentioned: default points
    assert rubric.enabled("redis-image") and rubric.enabled("redis-port")
    assert not rubric.enabled("persistence")
    assert not rubric.enabled("flask-counter")
    assert not rubric.enabled("student-name")
    assert rubric.checks["flask-counter"] == CheckOverride(points=None, enabled=False)
    assert rubric.allowed_policy_rules == frozenset({"privileged", "host-network"})


def test_values_are_converted_to_the_fields_types(tmp_path: Path) -> None:
    rubric = load(tmp_path, """\
        expect:
          port: "6380"
        limits:
          memory: 1024
          cpus: 2
          settle_s: 1
        """)
    assert rubric.expect.port == 6380 and isinstance(rubric.expect.port, int)
    assert rubric.limits.memory == "1024"
    assert rubric.limits.cpus == 2.0 and isinstance(rubric.limits.cpus, float)
    assert isinstance(rubric.limits.settle_s, float)


def test_zero_points_is_allowed(tmp_path: Path) -> None:
    assert load(tmp_path, "checks:\n  redis-ping: {points: 0}\n").points_for("redis-ping", 1) == 0


def test_empty_sections_mean_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, "expect:\nlimits:\nchecks:\npolicy:\n") == Rubric()


def test_extra_check_dirs_resolve_next_to_the_rubric(tmp_path: Path) -> None:
    rubric = load(tmp_path, "extra_checks: [my_checks, ../shared]\n")
    assert rubric.extra_check_dirs == ((tmp_path / "my_checks").resolve(), (tmp_path.parent / "shared").resolve())


def test_student_name_from_a_roster() -> None:
    rubric = Rubric()
    named = rubric.with_student_name("Ada")
    assert named.expect.student_name == "Ada"
    assert named.expect.image == rubric.expect.image
    assert rubric.expect.student_name is None  # frozen: the original is unchanged


# Mistakes ------------------------------------------------------------------------


def test_unknown_top_level_key(tmp_path: Path) -> None:
    message = error(tmp_path, "expect: {}\npoints: 3\nchekcs: {}\n")
    assert "chekcs" in message and "points" in message and "unknown" in message


@pytest.mark.parametrize("section, key", [("expect", "imag"), ("limits", "memroy")])
def test_unknown_section_key_names_it_and_the_known_ones(tmp_path: Path, section: str, key: str) -> None:
    message = error(tmp_path, f"{section}:\n  {key}: x\n")
    assert f"'{section}.{key}'" in message
    assert ("image" if section == "expect" else "memory") in message


@pytest.mark.parametrize("text, fragment", [
    ("expect:\n  port: lots\n", "'expect.port' must be a int"),
    ("expect:\n  port: [6379]\n", "'expect.port' must be a int"),
    ("limits:\n  cpus: half\n", "'limits.cpus' must be a float"),
    ("limits:\n  pids: {max: 5}\n", "'limits.pids' must be a int"),
    ("expect: redis:alpine\n", "'expect' must be a mapping"),
    ("limits: [1, 2]\n", "'limits' must be a mapping"),
    ("checks: [redis-image]\n", "'checks' must map check ids"),
    ("checks:\n  redis-image: 5\n", "checks.redis-image takes 'points', 'enabled' and 'visibility'"),
    ("checks:\n  redis-image: {pts: 5}\n", "checks.redis-image takes 'points', 'enabled' and 'visibility'"),
    ("checks:\n  redis-image: {points: five}\n", "checks.redis-image.points must be a number >= 0"),
    ("checks:\n  redis-image: {points: -1}\n", "checks.redis-image.points must be a number >= 0"),
    ("policy:\n  allow: privileged\n", "'policy.allow' must be a list"),
    ("policy: [privileged]\n", "'policy.allow' must be a list"),
    ("extra_checks: my_checks\n", "'extra_checks' must be a list"),
])
def test_wrong_types_are_clear_errors(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in error(tmp_path, text)


def test_broken_yaml_names_the_rubric_file(tmp_path: Path) -> None:
    path = rubric_file(tmp_path, "checks:\n  redis-image: {points: 5\n")
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(path) in str(info.value)
    assert "rubric.yml" in str(info.value)


def test_missing_rubric_file(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="cannot be read"):
        load_rubric(tmp_path / "nope.yml")


def test_rubric_that_is_a_list(tmp_path: Path) -> None:
    with pytest.raises(RubricError, match="mapping"):
        load(tmp_path, "- redis-image\n")


def test_unknown_policy_key_is_an_error(tmp_path: Path) -> None:
    assert "alow" in error(tmp_path, "policy:\n  alow: [privileged]\n")


@pytest.mark.parametrize("value", ["{name: redis, tag: alpine}", "[redis, alpine]"])
def test_string_fields_refuse_mappings_and_lists(tmp_path: Path, value: str) -> None:
    assert "expect.image" in error(tmp_path, f"expect:\n  image: {value}\n")


@pytest.mark.parametrize("value", ["6379.9", "true"])
def test_integer_fields_refuse_floats_and_booleans(tmp_path: Path, value: str) -> None:
    assert "expect.port" in error(tmp_path, f"expect:\n  port: {value}\n")


@pytest.mark.parametrize("value", ["no", "off", '"false"'])
def test_enabled_must_be_a_boolean(tmp_path: Path, value: str) -> None:
    text = f"checks:\n  redis-image:\n    enabled: {value}\n"
    try:
        rubric = load(tmp_path, text)
    except RubricError:
        return
    assert not rubric.enabled("redis-image")


def test_policy_allow_names_only_known_rules(tmp_path: Path) -> None:
    from grader.policy import RULES
    path = tmp_path / "rubric.yml"
    path.write_text("policy:\n  allow: [privileged, host-netwrok]\n")
    with pytest.raises(RubricError, match="unknown safety rules: host-netwrok"):
        load_rubric(path, known_rules=frozenset(RULES))
    path.write_text("policy:\n  allow: [privileged, symlink-outside]\n")
    assert load_rubric(path, known_rules=frozenset(RULES)).allowed_policy_rules == {"privileged", "symlink-outside"}
