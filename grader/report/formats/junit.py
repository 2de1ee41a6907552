"""JUnit XML, as Jenkins, GitLab and most CI systems read it.

One ``<testsuite>`` per submission (its ``name`` is the submission), one ``<testcase>`` per
check (``classname`` = the submission, ``name`` = the check id, ``time`` = the check's
duration). A failed check carries ``<failure message=... type="failed">`` with expected,
found, where and fix as its text; an error ``<error type="error">``; a skipped check
``<skipped message=.../>``. Points go in the test case's ``<system-out>`` ("points: 2/2"):
``<properties>`` are only valid on ``<testsuite>`` in the common (Jenkins) schema, so the
suite carries score, max_score and passed as properties.

Student-controlled text can hold anything, control characters included: characters that
XML 1.0 cannot carry at all are removed, everything else is escaped by ElementTree.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from grader.report.formats import (
    AnyResult,
    diagnosis_text,
    points_label,
    refusal,
    score_line,
)
from grader.results import CheckResult, GradeResult, Status, points_text

# Characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets); everything else is dropped.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """``value`` as text XML 1.0 can hold: invalid characters (NUL, ESC, lone surrogates...) removed."""
    return _INVALID_XML.sub("", "" if value is None else str(value))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: Any) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: xml_text(value) for key, value in attributes.items()})
    if text:
        element.text = xml_text(text)
    return element


_OUTCOMES = {Status.FAILED: ("failure", "failed"), Status.ERROR: ("error", "error")}


def _testcase(suite: ET.Element, submission: str, check: CheckResult) -> None:
    case = _element(suite, "testcase", name=check.id or "(unnamed check)", classname=submission,
                    time=_seconds(check.duration_s))
    message = check.message or check.status.value
    if check.status in _OUTCOMES:
        tag, kind = _OUTCOMES[check.status]
        _element(case, tag, diagnosis_text(check), message=message, type=kind)
    elif check.status is Status.SKIPPED:
        _element(case, "skipped", message=message)
    out = [f"points: {points_label(check)}"]
    if check.title:
        out.append(f"title: {check.title}")
    if check.status is Status.PASSED and check.message:
        out.append(f"message: {check.message}")
    _element(case, "system-out", "\n".join(out))


def _properties(suite: ET.Element, result: GradeResult) -> None:
    """Score, maximum, verdict and how it was graded: only a suite may carry properties."""
    properties = _element(suite, "properties")
    values = {"score": points_text(result.score), "max_score": points_text(result.max_score),
              "passed": str(result.passed).lower(), "mode": result.mode, "grader_version": result.grader_version,
              "compose_file": result.compose_file}
    for name, value in values.items():
        if value is not None:
            _element(properties, "property", name=name, value=value)


def _suite(root: ET.Element, result: GradeResult) -> dict[str, int]:
    submission = result.submission or "submission"
    tally = result.tally()
    counts = {"tests": len(result.checks), "failures": tally["failed"], "errors": tally["error"],
              "skipped": tally["skipped"]}
    attributes: dict[str, Any] = {"name": submission, **counts, "time": _seconds(result.duration_s)}
    if result.started_at:
        attributes["timestamp"] = result.started_at
    suite = _element(root, "testsuite", **attributes)
    _properties(suite, result)
    for check in result.checks:
        _testcase(suite, submission, check)
    out = [score_line(result)]
    if result.notice:
        out.append(result.notice)
    out += [f"refused by the safety policy: {refusal(violation)}" for violation in result.policy]
    _element(suite, "system-out", "\n".join(out))
    return counts


def to_junit(results: Sequence[AnyResult]) -> str:
    """JUnit XML for one or more gradings (each a ``GradeResult`` or its ``to_dict()``)."""
    root = ET.Element("testsuites", {"name": "compose-grader"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    time = 0.0
    for result in map(GradeResult.of, results):
        for key, value in _suite(root, result).items():
            totals[key] += value
        time += result.duration_s
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
