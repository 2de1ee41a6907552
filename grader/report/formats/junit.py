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
from typing import Any

from grader.report.formats import (
    counts,
    diagnosis_text,
    num,
    points_label,
    score_line,
    status_of,
)

# Characters XML 1.0 allows (https://www.w3.org/TR/xml/#charsets); everything else is dropped.
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: Any) -> str:
    """``value`` as text XML 1.0 can hold: invalid characters (NUL, ESC, lone surrogates...) removed."""
    return _INVALID_XML.sub("", "" if value is None else str(value))


def _seconds(value: Any) -> str:
    try:
        return f"{max(float(value), 0.0):.3f}"
    except (TypeError, ValueError):
        return "0.000"


def _element(parent: ET.Element, tag: str, text: str | None = None, **attributes: Any) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: xml_text(value) for key, value in attributes.items()})
    if text:
        element.text = xml_text(text)
    return element


def _testcase(suite: ET.Element, submission: str, check: dict[str, Any]) -> None:
    status = status_of(check)
    case = _element(suite, "testcase", name=check.get("id") or "(unnamed check)", classname=submission,
                    time=_seconds(check.get("duration_s")))
    message = check.get("message") or status
    if status == "failed":
        _element(case, "failure", diagnosis_text(check), message=message, type="failed")
    elif status == "error":
        _element(case, "error", diagnosis_text(check), message=message, type="error")
    elif status == "skipped":
        _element(case, "skipped", message=message)
    out = [f"points: {points_label(check)}"]
    if check.get("title"):
        out.append(f"title: {check['title']}")
    if status == "passed" and check.get("message"):
        out.append(f"message: {check['message']}")
    _element(case, "system-out", "\n".join(out))


def _suite(root: ET.Element, result: dict[str, Any]) -> dict[str, int]:
    submission = str(result.get("submission") or "submission")
    checks = list(result.get("checks") or [])
    tally = counts(checks)
    attributes = {
        "name": submission,
        "tests": len(checks),
        "failures": tally["failed"],
        "errors": tally["error"],
        "skipped": tally["skipped"],
        "time": _seconds(result.get("duration_s")),
    }
    if result.get("started_at"):
        attributes["timestamp"] = result["started_at"]
    suite = _element(root, "testsuite", **attributes)
    properties = _element(suite, "properties")
    for name in ("score", "max_score"):
        _element(properties, "property", name=name, value=num(result.get(name)))
    for name in ("passed", "mode", "grader_version", "compose_file"):
        if result.get(name) is not None:
            value = str(result[name]).lower() if isinstance(result[name], bool) else result[name]
            _element(properties, "property", name=name, value=value)
    for check in checks:
        _testcase(suite, submission, check)
    out = [score_line(result)]
    if result.get("notice"):
        out.append(str(result["notice"]))
    for violation in result.get("policy") or []:
        out.append(f"refused by the safety policy: {violation.get('message') or violation.get('rule')}")
    _element(suite, "system-out", "\n".join(out))
    return {"tests": len(checks), "failures": tally["failed"], "errors": tally["error"],
            "skipped": tally["skipped"]}


def to_junit(results: list[dict[str, Any]]) -> str:
    """JUnit XML for one or more gradings (each a ``GradeResult.to_dict()``)."""
    root = ET.Element("testsuites", {"name": "compose-grader"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    time = 0.0
    for result in results:
        for key, value in _suite(root, result).items():
            totals[key] += value
        try:
            time += float(result.get("duration_s") or 0)
        except (TypeError, ValueError):
            pass
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
