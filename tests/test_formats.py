"""Output formats (JUnit, Gradescope, Markdown, GitHub Classroom) and the GitHub Action.

The formats are checked on real results of sample submissions (static mode, fast) and on
synthetic results full of hostile text; the action's steps run as GitHub would run them, with
GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_WORKSPACE pointing at temporary paths.
"""
from __future__ import annotations

import base64
import copy
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt
from ruamel.yaml import YAML

from grader.report.formats import classroom, github, gradescope, junit, markdown
from grader.report.formats.classroom import decode_classroom, encode_classroom, to_classroom
from grader.report.formats.gradescope import to_gradescope
from grader.report.formats.junit import to_junit
from grader.report.formats.markdown import to_markdown
from grader.results import points_text
from tests.conftest import REPO, SAMPLES

xmlschema = pytest.importorskip("xmlschema")

JUNIT_XSD = Path(__file__).parent / "data" / "junit.xsd"
ACTION = REPO / "action.yml"
WORKFLOW = REPO / "examples" / "github-classroom" / ".github" / "workflows" / "classroom.yml"
RUN_AUTOGRADER = REPO / "examples" / "gradescope" / "run_autograder"
EXPECTED = YAML(typ="safe").load((SAMPLES / "expected.yml").read_text())

HOSTILE = "a|b\nc\r\nd \x00\x01\x08\x0b\x1b[31mred\x7f <script>alert('x')</script> & \"q\" ``tick`` ]]> \ud800 é 🐳 [x](http://e.vil) *b* _i_ #1 :smile:"


def grade_json(submission: Path, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    """`grader check --json` on ``submission``, as a subprocess."""
    json_path = out / f"{submission.name}-{len(list(out.glob('*.json')))}.json"
    process = subprocess.run(
        [sys.executable, "-I", "-m", "grader.cli", "check", str(submission), "--json", str(json_path),
         "--no-html", *extra],
        check=False, capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )
    assert "Traceback" not in process.stdout + process.stderr, process.stderr
    return process.returncode, json.loads(json_path.read_text())


@pytest.fixture(scope="module")
def static_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    out = tmp_path_factory.mktemp("static-results")
    return {name: grade_json(SAMPLES / name, out, "--static")[1]
            for name in ("perfect", "wrong_port", "broken_yaml", "nested_folder")}


def check(id: str, status: str, points: float, max_points: float, bonus: bool = False, **extra: Any) -> dict[str, Any]:
    base = {"id": id, "title": f"Title of {id}", "status": status, "points": points, "max_points": max_points,
            "bonus": bonus, "message": f"message of {id}", "hint": None, "location": None, "expected": None,
            "found": None, "details": None, "duration_s": 0.25}
    base.update(extra)
    return base


def synthetic(**overrides: Any) -> dict[str, Any]:
    """A full-mode result: one of each status, a passed bonus, and hostile student text everywhere."""
    result = {
        "submission": "student|one <b>",
        "score": 3 + 3,
        "max_score": 3 + 2 + 2 + 1,
        "passed": False,
        "checks": [
            check("compose-file", "passed", 3, 3, message=f"valid: {HOSTILE}"),
            check("redis-port", "failed", 0, 2, message=f"port wrong {HOSTILE}", hint=f"fix it {HOSTILE}",
                  expected="6379:6379", found=f"`6380`|{HOSTILE}", location={"file": "sub dir/compose.yaml", "line": 7},
                  details=f"log line 1\n```\nlog {HOSTILE}"),
            check("stack-up", "error", 0, 2, message=f"engine gone {HOSTILE}"),
            check("redis-ping", "skipped", 0, 1, message="stack-up failed"),
            check("flask-counter", "passed", 3, 3, bonus=True, message="count rose 1, 2, 3"),
        ],
        "grader_version": "0.1.0",
        "started_at": "2026-01-01T00:00:00+00:00",
        "duration_s": 12.5,
        "mode": "full",
        "notice": f"notice {HOSTILE}",
        "compose_file": "compose.yaml",
        "services": {"redis": "redis", "web": "web"},
        "policy": [],
    }
    result.update(overrides)
    return result


# ---------------------------------------------------------------------------------------- JUnit

def validate_junit(text: str) -> ET.Element:
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(text)
    return ET.fromstring(text.encode("utf-8"))


def test_junit_validates_against_the_schema_with_right_counts(static_results: dict[str, dict]) -> None:
    results = list(static_results.values()) + [synthetic()]
    root = validate_junit(to_junit(results))
    suites = root.findall("testsuite")
    assert [suite.get("name") for suite in suites] == [r["submission"] for r in results]
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for suite, result in zip(suites, results):
        cases = suite.findall("testcase")
        statuses = [c["status"] for c in result["checks"]]
        expected = {"tests": len(statuses), "failures": statuses.count("failed"),
                    "errors": statuses.count("error"), "skipped": statuses.count("skipped")}
        assert {key: int(suite.get(key)) for key in expected} == expected
        assert len(cases) == len(result["checks"])
        for case, chk in zip(cases, result["checks"]):
            assert case.get("name") == chk["id"]
            assert case.get("classname") == suite.get("name")
            assert float(case.get("time")) == pytest.approx(chk["duration_s"], abs=0.001)
            children = {child.tag for child in case}
            outcome = {"passed": set(), "failed": {"failure"}, "error": {"error"}, "skipped": {"skipped"}}
            assert children - {"system-out"} == outcome[chk["status"]]
            out = case.find("system-out").text
            assert f"points: {points_text(chk['points'])}/{points_text(chk['max_points'])}" in out
        properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
        assert properties["score"] == points_text(result["score"])
        assert properties["max_score"] == points_text(result["max_score"])
        for key in totals:
            totals[key] += expected[key]
    assert {key: int(root.get(key)) for key in totals} == totals


def test_junit_failure_carries_the_diagnosis_and_survives_hostile_text() -> None:
    text = to_junit([synthetic()])
    root = validate_junit(text)
    assert "\x00" not in text and "\x1b" not in text and "<script>" not in text
    cases = {case.get("name"): case for case in root.iter("testcase")}
    failure = cases["redis-port"].find("failure")
    assert failure.get("type") == "failed"
    assert failure.get("message").startswith("port wrong a|b\nc")  # newlines survive in attributes
    assert "<script>alert('x')</script>" in failure.get("message")  # escaped, then parsed back
    for needle in ("expected: 6379:6379", "found: `6380`|a|b", "where: sub dir/compose.yaml:7", "fix: fix it", "]]>",
                   "é 🐳", "log line 1"):
        assert needle in failure.text
    assert cases["stack-up"].find("error").get("type") == "error"
    assert cases["redis-ping"].find("skipped").get("message") == "stack-up failed"
    assert "points: 3/3 bonus" in cases["flask-counter"].find("system-out").text
    assert root.find("testsuite").get("name") == "student|one <b>"


def test_junit_strips_only_characters_xml_cannot_hold() -> None:
    assert junit.xml_text("ok\tline\nnext\r\x00\x1f\x7f\ud800\uffff\ufffd😀") == "ok\tline\nnext\r\x7f\ufffd😀"
    assert to_junit([]).startswith('<?xml version="1.0" encoding="UTF-8"?>')
    validate_junit(to_junit([]))


# ------------------------------------------------------------------------------------ Gradescope

def assert_gradescope_shape(data: dict[str, Any]) -> None:
    json.dumps(data, allow_nan=False)
    assert isinstance(data["score"], (int, float)) and not isinstance(data["score"], bool)
    assert isinstance(data["execution_time"], int) and data["execution_time"] >= 0
    assert isinstance(data["output"], str)
    assert data.get("visibility", "visible") in ("visible", "hidden", "after_due_date", "after_published")
    assert data.get("stdout_visibility", "hidden") in ("visible", "hidden", "after_due_date", "after_published")
    assert isinstance(data["tests"], list)
    for test in data["tests"]:
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["number"], str)
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["output"], str)
        assert test["visibility"] == "visible"
        assert test.get("output_format", "text") == "text"


def test_gradescope_fields_and_types(static_results: dict[str, dict]) -> None:
    for result in list(static_results.values()) + [synthetic()]:
        data = to_gradescope(result)
        assert_gradescope_shape(data)
        assert data["score"] == result["score"]
        assert sum(test["score"] for test in data["tests"]) == result["score"]
        assert sum(test["max_score"] for test in data["tests"]) == result["max_score"]
        assert [test["number"] for test in data["tests"]] == [str(i) for i in range(1, len(result["checks"]) + 1)]
        for test, chk in zip(data["tests"], result["checks"]):
            assert chk["id"] in test["name"]
            assert test["status"] == ("passed" if chk["status"] == "passed" else "failed")
            assert test["max_score"] == (0 if chk["bonus"] else chk["max_points"])


def test_gradescope_failed_test_tells_how_to_fix(static_results: dict[str, dict]) -> None:
    data = to_gradescope(static_results["wrong_port"])
    port = next(test for test in data["tests"] if "redis-port" in test["name"])
    assert port["status"] == "failed" and port["score"] == 0 and port["max_score"] == 2
    for needle in ("expected: 6379:6379", "found: 6380", "where: docker-compose.yaml:7", "fix: "):
        assert needle in port["output"]
    assert "redis-port" in data["output"] and "Score: 5 / 14" in data["output"]
    bonus = to_gradescope(synthetic())["tests"][-1]
    assert (bonus["score"], bonus["max_score"], bonus["status"]) == (3, 0, "passed")


def test_gradescope_cli_writes_results_even_without_a_result(tmp_path: Path, static_results: dict[str, dict]) -> None:
    source = tmp_path / "result.json"
    source.write_text(json.dumps(static_results["perfect"]))
    out = tmp_path / "results" / "results.json"
    assert gradescope.main(["--result", str(source), "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == to_gradescope(static_results["perfect"])
    assert gradescope.main(["--result", str(tmp_path / "missing.json"), "--out", str(out), "--exit-code", "2"]) == 0
    data = json.loads(out.read_text())
    assert_gradescope_shape(data)
    assert data["score"] == 0 and "exited with status 2" in data["output"]


# -------------------------------------------------------------------------------------- Markdown

def rendered_tables(text: str) -> list[list[list[str]]]:
    """Each table of the rendered Markdown as rows of cell texts (header row included)."""
    html = MarkdownIt("commonmark").enable("table").render(text)
    tables = []
    for table in re.findall(r"<table>(.*?)</table>", html, re.DOTALL):
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.DOTALL)
        tables.append([re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.DOTALL) for row in rows])
    return tables


def test_markdown_summary_has_score_table_and_fixes(static_results: dict[str, dict]) -> None:
    text = to_markdown([static_results["perfect"], static_results["wrong_port"]])
    assert "## ✅ perfect: 7 / 14" in text
    assert "## ❌ wrong\\_port: 5 / 14" in text
    tables = rendered_tables(text)
    assert len(tables) == 2
    for table, result in zip(tables, (static_results["perfect"], static_results["wrong_port"])):
        assert table[0] == ["check", "status", "points"]
        assert len(table) == len(result["checks"]) + 1 and all(len(row) == 3 for row in table)
    assert "### What to fix" in text.split("wrong\\_port")[1]
    fixes = text.split("### What to fix")[1]
    assert "`redis-port`" in fixes and "Expected: `6379:6379 (host:container)`" in fixes
    assert "Where: `docker-compose.yaml:7`" in fixes and "How to fix: Change the mapping" in fixes


def test_markdown_escapes_pipes_newlines_and_html() -> None:
    result = synthetic()
    result["checks"][0]["title"] = "title | with pipe\nand newline <img src=x onerror=alert(1)>"
    text = to_markdown([result])
    tables = rendered_tables(text)
    assert len(tables) == 1 and len(tables[0]) == len(result["checks"]) + 1
    assert all(len(row) == 3 for row in tables[0])
    first = tables[0][1][0]
    assert "title | with pipe" in first and "<br>" in first  # the pipe stays text, the newline a <br>
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert "<script>" not in html and "<img" not in html and 'href="http://e.vil"' not in html
    assert "\x00" not in text and "\x1b" not in text
    # values are code spans whatever backticks they hold; details are a fenced block that stays closed
    assert "<code>`6380`|a|b c" in html
    assert "<details><summary>Details</summary>" in text
    assert html.count("<pre>") == 1 and "log line 1" in html.split("<pre>")[1].split("</pre>")[0]


def test_markdown_code_spans_and_prose() -> None:
    assert markdown.code("plain") == "`plain`"
    assert markdown.code("a`b") == "``a`b``"
    assert markdown.code("`x`") == "`` `x` ``"
    assert markdown.prose("uses `redis:alpine` | *not* <b>") == "uses `redis:alpine` \\| \\*not\\* \\<b\\>"


# ---------------------------------------------------------------------------- GitHub Classroom

REPORTER_TEST_KEYS = {"name", "status", "score", "message", "test_code", "filename", "line_no", "duration"}


def assert_reporter_shape(data: dict[str, Any]) -> None:
    assert set(data) == {"version", "status", "max_score", "tests"}
    assert data["version"] == 1 and data["status"] in ("pass", "fail", "error")
    assert isinstance(data["max_score"], (int, float))
    for test in data["tests"]:
        assert set(test) == REPORTER_TEST_KEYS
        assert test["status"] in ("pass", "fail", "error")
        assert isinstance(test["score"], (int, float)) and isinstance(test["line_no"], int)
        assert isinstance(test["duration"], int)
        assert all(isinstance(test[key], str) for key in ("name", "message", "test_code", "filename"))


def assert_tests_follow_checks(data: dict[str, Any], result: dict[str, Any]) -> None:
    """One test per check, in order; ``test_code`` (what the reporter prints) names the check when it did not pass."""
    tests = data["tests"][:len(result["checks"])]
    assert len(tests) == len(result["checks"])
    for test, check in zip(tests, result["checks"]):
        assert test["status"] == classroom.TEST_STATUS[check["status"]]
        if check["status"] in ("failed", "skipped"):
            assert test["test_code"].startswith(f"{check['id']} {check['status']}"), test
        else:
            assert test["test_code"] == "", test


def classroom_test_of(data: dict[str, Any], result: dict[str, Any], check_id: str) -> dict[str, Any]:
    return data["tests"][[c["id"] for c in result["checks"]].index(check_id)]


def reporter_totals(data: dict[str, Any]) -> tuple[float, float]:
    """What autograding-grading-reporter sends to the classroom: sum of tests' scores, max_score."""
    return sum(test["score"] for test in data["tests"]), data["max_score"]


def test_classroom_shape_and_scores(static_results: dict[str, dict]) -> None:
    for result in list(static_results.values()) + [synthetic()]:
        data = to_classroom(result)
        assert_reporter_shape(data)
        assert reporter_totals(data) == (result["score"], result["max_score"])
        assert_tests_follow_checks(data, result)
    assert to_classroom(static_results["perfect"])["status"] == "pass"
    assert to_classroom(static_results["wrong_port"])["status"] == "fail"
    assert to_classroom(static_results["broken_yaml"])["status"] == "fail"
    assert to_classroom(synthetic())["status"] == "error"
    port = classroom_test_of(to_classroom(static_results["wrong_port"]), static_results["wrong_port"], "redis-port")
    assert (port["status"], port["filename"], port["line_no"]) == ("fail", "docker-compose.yaml", 7)
    assert "fix: " in port["message"] and "fix: " in port["test_code"]


def test_classroom_bonus_counts_in_score_not_in_max_score() -> None:
    result = synthetic()
    result["checks"] = [c for c in result["checks"] if c["status"] == "passed"]
    result.update(score=6, max_score=3, passed=True)
    data = to_classroom(result)
    assert data["status"] == "pass"
    assert reporter_totals(data) == (6, 3)  # the reporter shows 6/3: bonus above the maximum
    bonus = classroom_test_of(data, result, "flask-counter")
    assert bonus["score"] == 3 and "bonus" in bonus["name"]


def test_classroom_min_score_and_policy() -> None:
    result = synthetic()
    result["checks"] = [c for c in result["checks"] if c["status"] == "passed"]
    result.update(score=6, max_score=3, passed=True)
    assert to_classroom(result, min_score=6)["status"] == "pass"
    assert to_classroom(result, min_score=6.5)["status"] == "fail"
    refused = copy.deepcopy(result)
    refused.update(passed=False, policy=[{"rule": "privileged", "message": "privileged: true is not allowed",
                                          "location": {"file": "compose.yaml", "line": 4}}])
    data = to_classroom(refused)
    assert data["status"] == "fail"
    assert data["tests"][-1]["name"] == "Safety policy (0/0)" and data["tests"][-1]["score"] == 0
    assert data["tests"][-1]["test_code"].startswith("policy failed") and "compose.yaml:4" in data["tests"][-1]["test_code"]
    assert reporter_totals(data) == (6, 3)


def test_classroom_encoding_is_base64_of_compact_json(static_results: dict[str, dict]) -> None:
    data = to_classroom(synthetic())
    encoded = encode_classroom(data)
    assert re.fullmatch(r"[A-Za-z0-9+/=]+", encoded)
    raw = base64.b64decode(encoded).decode("utf-8")
    assert json.loads(raw) == data == decode_classroom(encoded)
    assert raw == json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    error = classroom.error_classroom("boom")
    assert_reporter_shape(error)
    assert error["status"] == "error"


# ------------------------------------------------------------------------------ action.yml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_yaml(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def test_action_yml_structure() -> None:
    action = load_yaml(ACTION)
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    steps = action["runs"]["steps"]
    inputs = action["inputs"]
    for name, default in {"path": ".", "rubric": "", "static-only": "false", "min-score": "0"}.items():
        assert str(inputs[name]["default"]) == default and inputs[name]["description"]
    assert {"result", "score", "max-score", "report"} <= set(action["outputs"])
    ids: list[str] = []
    for step in steps:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step.get("shell") == "bash", f"run step {step.get('name')} has no shell"
            # Inputs reach scripts only through env: never spliced into the script itself.
            assert not EXPRESSION.search(step["run"]), step["run"]
        for expression in EXPRESSION.findall(json.dumps(step)):
            kind = expression.split(".")[0]
            assert kind in ("inputs", "steps"), expression
            if kind == "inputs":
                assert expression.split(".", 1)[1] in inputs, expression
            else:
                assert expression.split(".")[1] in ids, f"{expression} refers to a later or unknown step"
        if "id" in step:
            ids.append(step["id"])
    assert any(step.get("uses") == "actions/setup-python@v5" for step in steps)
    assert any("$GITHUB_ACTION_PATH" in step.get("run", "") and "pip install" in step.get("run", "") for step in steps)
    for name, output in action["outputs"].items():
        match = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", output["value"])
        assert match and match.group(1) in ids, (name, output)


def test_example_workflow_wires_the_action_to_the_reporter() -> None:
    workflow = load_yaml(WORKFLOW)
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    job = workflow["jobs"]["run-autograding-tests"]
    steps = job["steps"]
    assert steps[0]["uses"] == "actions/checkout@v4"
    grader = next(step for step in steps if str(step.get("uses", "")).endswith("/compose-grader@v1"))
    reporter = next(step for step in steps if step.get("uses") == "classroom-resources/autograding-grading-reporter@v1")
    step_id = grader["id"]
    assert reporter["with"]["runners"] == step_id
    assert reporter["env"] == {f"{step_id.upper()}_RESULTS": f"${{{{ steps.{step_id}.outputs.result }}}}"}
    assert steps.index(grader) < steps.index(reporter)
    upload = next(step for step in steps if step.get("uses") == "actions/upload-artifact@v4")
    assert upload["with"]["path"] == f"${{{{ steps.{step_id}.outputs.report }}}}"
    action_inputs = set(load_yaml(ACTION)["inputs"])
    assert set(grader.get("with") or {}) <= action_inputs


# ----------------------------------------------------------- the action's steps, run for real

def parse_github_output(path: Path) -> dict[str, str]:
    """Read a GITHUB_OUTPUT file: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = path.read_text(encoding="utf-8").split("\n") if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            value = []
            while lines[index] != delimiter:
                value.append(lines[index])
                index += 1
            index += 1
            outputs[name] = "\n".join(value)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def run_action(workspace: Path, tmp: Path, **inputs: str) -> tuple[dict[str, str], str, list[subprocess.CompletedProcess]]:
    """Run action.yml's run steps as a GitHub runner would; return (outputs, step summary, processes).

    `uses:` steps (setup-python) and the install step are left out: this interpreter, with the
    grader installed, stands in for them (a `python` on PATH that is sys.executable).
    """
    action = load_yaml(ACTION)
    values = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    values.update(inputs)
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    if not (bindir / "python").exists():
        (bindir / "python").symlink_to(sys.executable)
    summary = tmp / "step_summary.md"
    runner_temp = tmp / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    step_outputs: dict[str, dict[str, str]] = {}

    def expand(text: str) -> str:
        def one(match: re.Match) -> str:
            expression = match.group(1)
            if expression.startswith("inputs."):
                return values[expression[len("inputs."):]]
            step_match = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expression)
            if step_match:
                return step_outputs.get(step_match.group(1), {}).get(step_match.group(2), "")
            raise AssertionError(f"unsupported expression in action.yml: {expression}")
        return EXPRESSION.sub(one, str(text))

    processes = []
    for number, step in enumerate(action["runs"]["steps"]):
        if "uses" in step or step.get("id") == "install":
            continue
        output_file = tmp / f"output_{number}"
        output_file.touch()
        env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200",
               "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary),
               "GITHUB_WORKSPACE": str(workspace), "GITHUB_ACTION_PATH": str(REPO),
               "RUNNER_TEMP": str(runner_temp), "GITHUB_ACTIONS": "true", "CI": "true"}
        env.update({key: expand(value) for key, value in (step.get("env") or {}).items()})
        script = tmp / f"step_{number}.sh"
        script.write_text(expand(step["run"]))
        process = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                                 cwd=tmp, env=env, check=False, capture_output=True, text=True, timeout=900)
        processes.append(process)
        assert "Traceback" not in process.stdout + process.stderr, process.stdout + process.stderr
        assert process.returncode == 0, f"step {step.get('name')} failed:\n{process.stdout}\n{process.stderr}"
        if step.get("id"):
            step_outputs[step["id"]] = parse_github_output(output_file)
    outputs = {name: expand(spec["value"]) for name, spec in action["outputs"].items()}
    return outputs, summary.read_text(encoding="utf-8") if summary.exists() else "", processes


def workspace_of(sample: str, tmp: Path) -> Path:
    """A checked-out student repository: the sample's files at the root of the workspace."""
    workspace = tmp / "ws" / sample
    shutil.copytree(SAMPLES / sample, workspace, symlinks=True)
    return workspace


@pytest.mark.parametrize("sample,status", [("perfect", "pass"), ("wrong_port", "fail"), ("nested_folder", "pass")])
def test_action_static_matches_grader_check(sample: str, status: str, tmp_path: Path) -> None:
    workspace = workspace_of(sample, tmp_path)
    outputs, summary, processes = run_action(workspace, tmp_path, **{"static-only": "true"})
    _, reference = grade_json(workspace, tmp_path, "--static")
    decoded = decode_classroom(outputs["result"])
    assert_reporter_shape(decoded)
    assert decoded["status"] == status
    assert reporter_totals(decoded) == (reference["score"], reference["max_score"])
    assert decoded == to_classroom(reference) | {"tests": decoded["tests"]}
    assert_tests_follow_checks(decoded, reference)
    assert outputs["score"] == points_text(reference["score"])
    assert outputs["max-score"] == points_text(reference["max_score"])
    assert outputs["status"] == status
    assert outputs["report"].endswith(f"{sample}.html") and Path(outputs["report"]).is_file()
    assert json.loads(Path(outputs["json"]).read_text())["score"] == reference["score"]
    assert f"{'✅' if status == 'pass' else '❌'} {markdown.prose(sample)}: {outputs['score']} / {outputs['max-score']}" in summary
    assert "| check | status | points |" in summary
    if sample == "wrong_port":
        annotations = [line for line in processes[-1].stdout.splitlines() if line.startswith("::error ")]
        assert annotations == [line for line in github.annotations(reference)]
        assert annotations[0].startswith("::error file=docker-compose.yaml,line=7,title=redis-port%3A ")


def test_action_min_score_rubric_and_subfolder(tmp_path: Path) -> None:
    workspace = tmp_path / "ws" / "repo"
    shutil.copytree(SAMPLES / "perfect", workspace / "assignment")
    rubric = workspace / "rubric.yml"
    rubric.write_text("checks:\n  redis-image: {points: 5}\n")
    outputs, summary, _ = run_action(workspace, tmp_path, path="assignment", rubric="rubric.yml",
                                     **{"static-only": "true", "min-score": "100"})
    decoded = decode_classroom(outputs["result"])
    assert decoded["status"] == "fail"  # every check passed, but 10 < 100
    assert decoded["max_score"] == 17 and outputs["max-score"] == "17"
    assert "Below the minimum score to pass (100)" in summary
    assert "assignment: 10 / 17" in summary


def test_action_reports_an_error_result_when_the_grader_cannot_run(tmp_path: Path) -> None:
    workspace = tmp_path / "ws" / "repo"
    workspace.mkdir(parents=True)
    outputs, summary, _ = run_action(workspace, tmp_path, path="does-not-exist")
    decoded = decode_classroom(outputs["result"])
    assert_reporter_shape(decoded)
    assert decoded["status"] == "error" and "exited with status 2" in decoded["tests"][0]["message"]
    assert outputs["status"] == "error" and outputs["score"] == "0" and outputs["report"] == ""
    assert "could not grade" in summary


def test_action_fail_step_fails_the_step(tmp_path: Path) -> None:
    workspace = workspace_of("wrong_port", tmp_path)
    with pytest.raises(AssertionError, match="step Report the grade failed"):
        run_action(workspace, tmp_path, **{"static-only": "true", "fail-step": "true"})


@pytest.mark.docker
def test_action_full_grading_of_the_perfect_sample(docker_engine, tmp_path: Path) -> None:
    workspace = workspace_of("perfect", tmp_path)
    outputs, summary, _ = run_action(workspace, tmp_path)
    written = json.loads(Path(outputs["json"]).read_text())  # what `grader check --json` wrote
    assert written["mode"] == "full"
    assert {c["id"]: c["status"] for c in written["checks"]} == EXPECTED["perfect"]["checks"]
    decoded = decode_classroom(outputs["result"])
    assert_reporter_shape(decoded)
    assert decoded == to_classroom(written)
    assert decoded["status"] == "pass"
    assert reporter_totals(decoded) == (written["score"], written["max_score"]) == (17, 14)
    assert (outputs["score"], outputs["max-score"]) == ("17", "14")
    assert "✅ perfect: 17 / 14" in summary and "What to fix" not in summary


# ------------------------------------------------------------------- Gradescope run_autograder

def test_run_autograder_writes_results_json(tmp_path: Path) -> None:
    assert RUN_AUTOGRADER.stat().st_mode & stat.S_IXUSR
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    shutil.copytree(SAMPLES / "wrong_port", root / "submission")
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable, "COLUMNS": "200"}
    process = subprocess.run([str(RUN_AUTOGRADER)], cwd=root, env=env, check=False, capture_output=True, text=True, timeout=600)
    assert process.returncode == 0, process.stdout + process.stderr
    data = json.loads((root / "results" / "results.json").read_text())
    assert_gradescope_shape(data)
    _, reference = grade_json(root / "submission", tmp_path, "--static")
    assert data["score"] == reference["score"] == 5
    assert sum(test["max_score"] for test in data["tests"]) == reference["max_score"]
    # A rubric from the autograder zip, named in grader.env.
    (root / "source" / "rubric.yml").write_text("checks:\n" + "".join(
        f"  {name}: false\n" for name in ("stack-up", "redis-ping", "student-name", "persistence", "flask-counter")))
    (root / "source" / "grader.env").write_text("RUBRIC=rubric.yml\n")
    process = subprocess.run([str(RUN_AUTOGRADER)], cwd=root, env=env, check=False, capture_output=True, text=True, timeout=600)
    data = json.loads((root / "results" / "results.json").read_text())
    assert len(data["tests"]) == 4 and sum(test["max_score"] for test in data["tests"]) == 7
    assert data["score"] == 5


# ------------------------------------------------- grader check --junit/--gradescope/--markdown

def test_check_writes_every_format(tmp_path: Path) -> None:
    help_text = subprocess.run([sys.executable, "-I", "-m", "grader.cli", "check", "--help"],
                               check=False, capture_output=True, text=True, timeout=60).stdout
    if "--junit" not in help_text:
        pytest.skip("grader check has no --junit/--gradescope/--markdown yet")
    files = {name: tmp_path / f"out.{name}" for name in ("junit", "gradescope", "markdown")}
    code, result = grade_json(SAMPLES / "wrong_port", tmp_path, "--static",
                              *[arg for name, path in files.items() for arg in (f"--{name}", str(path))])
    assert code == 1
    root = validate_junit(files["junit"].read_text(encoding="utf-8"))
    assert root.find("testsuite").get("name") == "wrong_port"
    assert json.loads(files["gradescope"].read_text(encoding="utf-8")) == to_gradescope(result)
    assert files["markdown"].read_text(encoding="utf-8") == to_markdown([result])
