"""Gradebook entries as typed objects: a results.json entry reads back to the very dict it was, the
report modules import no circle, and `grader report` loads nothing of the engine or Docker."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.batch import grade_batch
from grader.batch.discovery import Submission
from grader.batch.source import not_graded
from grader.report import gradebook
from grader.report.entry import BatchInfo, Entry, Student, check_columns, max_score
from grader.rubric import Rubric
from tests.conftest import REPO, SAMPLES
from tests.test_results import RESULTS, TEXT

OPTIONAL = st.one_of(st.none(), TEXT)
STUDENTS = st.one_of(st.none(), st.builds(Student, TEXT, TEXT, TEXT, TEXT).filter(lambda s: s != Student()))
LOST = st.fixed_dictionaries({"worker": TEXT, "reason": TEXT, "lost_at": TEXT})
BATCHES = st.builds(BatchInfo, source=OPTIONAL, kind=OPTIONAL, folder=OPTIONAL, content_hash=OPTIONAL,
                    grading_key=OPTIONAL, regraded=st.lists(LOST, max_size=2), worker=OPTIONAL, graded_at=OPTIONAL,
                    report=OPTIONAL, extra=st.dictionaries(st.sampled_from(["queue", "attempts"]), st.integers(), max_size=2))
EXTRA = st.dictionaries(st.sampled_from(["late", "section"]), st.one_of(st.integers(), TEXT), max_size=2)
GRADED = st.builds(Entry, result=RESULTS, student=STUDENTS, error=OPTIONAL, batch=BATCHES, extra=EXTRA)
MISSING = st.builds(Entry, result=st.none(), student=STUDENTS, extra=EXTRA)


@settings(max_examples=200, deadline=None)
@given(st.one_of(GRADED, MISSING))
def test_any_entry_reads_back_from_its_json(entry: Entry) -> None:
    data = json.loads(json.dumps(entry.to_dict()))
    assert Entry.from_dict(data) == entry
    assert Entry.from_dict(data).to_dict() == data
    assert entry.state in ("missing", "refused", "error", "passed", "failed")
    assert entry.missing == (entry.state == "missing") == (data.get("missing") is True)


@pytest.fixture(scope="module")
def static_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A static batch of every sample, an unsafe zip and a roster with a student who handed nothing in."""
    root = tmp_path_factory.mktemp("entries")
    folder = root / "class"
    folder.mkdir()
    for sample in sorted(path for path in SAMPLES.iterdir() if path.is_dir()):
        shutil.copytree(sample, folder / sample.name, symlinks=True)
    with zipfile.ZipFile(folder / "sneaky.zip", "w") as handle:
        handle.writestr("../../evil.txt", "owned")
    roster = root / "roster.csv"
    roster.write_text("identifier,github_username,github_id,name\ns1,perfect,1,Maria Garcia\ns9,ghost,9,Ghost\n",
                      encoding="utf-8")
    grade_batch(folder, root / "out", jobs=2, roster=roster, mode="static")
    return root / "out" / gradebook.RESULTS_NAME


def test_every_entry_a_batch_writes_reads_back_exactly(static_class: Path) -> None:
    data = json.loads(static_class.read_text(encoding="utf-8"))
    entries = [Entry.from_dict(item) for item in data]
    assert [entry.to_dict() for entry in entries] == data
    states = {entry.submission or entry.id: entry.state for entry in entries}
    assert states["sneaky"] == "refused" and states["s9"] == "missing" and states["perfect"] == "passed"
    assert states["wrong_port"] == "failed"
    perfect = next(entry for entry in entries if entry.submission == "perfect")
    assert (perfect.id, perfect.name, perfect.github, perfect.batch.kind) == ("s1", "Maria Garcia", "perfect", "folder")
    assert perfect.batch.report == "perfect.html" and perfect.batch.content_hash and not perfect.batch.extra
    assert [column.id for column in check_columns(entries)][:3] == ["compose-file", "redis-image", "redis-port"]
    assert max_score(entries) == 14


def test_a_not_graded_entry_reads_back_exactly() -> None:
    for entry in (not_graded(Submission("z", Path("z.zip"), "zip"), Rubric(), refused="bad zip", hint="zip it again"),
                  not_graded(Submission("y", Path("y"), "folder"), Rubric(), error="docker went away")):
        data = json.loads(json.dumps(entry))
        assert Entry.from_dict(data).to_dict() == {**data, "student": None, "batch": {}, "lms": None}
    assert Entry.from_dict(data).state == "error" and Entry.from_dict(data).error == "docker went away"


def test_gradebook_helpers_take_dicts_and_entries_alike(static_class: Path) -> None:
    data = gradebook.load_results_json(static_class)
    entries = gradebook.load_entries(static_class)
    assert [gradebook.state(item) for item in data] == [entry.state for entry in entries]
    assert gradebook.check_columns(data) == check_columns(entries)
    assert [gradebook.entry_id(item) for item in data] == [gradebook.entry_id(entry) for entry in entries]


def run_python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)


def test_the_dashboard_imports_no_gradebook() -> None:
    """The dashboard takes entries; nothing in it reaches back into the gradebook that calls it."""
    done = run_python("import sys, grader.report.dashboard; print(sorted(m for m in sys.modules if m.startswith('grader')))")
    assert done.returncode == 0, done.stderr
    assert "grader.report.gradebook" not in done.stdout and "grader.report.entry" in done.stdout


def test_grader_report_loads_neither_the_engine_nor_docker(static_class: Path, tmp_path: Path) -> None:
    # the click group itself: `python -m grader.cli` would end the process before sys.modules is printed
    code = ("import sys\nsys.argv = ['grader', 'report', sys.argv[1], '--out', sys.argv[2]]\n"
            "from grader.cli.main import main\n"
            "try:\n    main()\nexcept SystemExit as stop:\n"
            "    assert stop.code in (0, None), stop.code\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)\n")
    done = run_python(code, str(static_class), str(tmp_path / "again"))
    assert done.returncode == 0, done.stdout + done.stderr
    loaded = set(done.stderr.split())
    assert {"grader.report.gradebook", "grader.report.html", "grader.cli.report"} <= loaded  # it did run
    assert (tmp_path / "again" / "index.html").is_file() and (tmp_path / "again" / "perfect.html").is_file()
    unwanted = sorted(name for name in loaded if name.split(".")[0] in ("pytest", "_pytest", "docker")
                      or name.startswith(("grader.grading", "grader.docker")))
    assert not unwanted, unwanted
    assert json.loads((tmp_path / "again" / "results.json").read_text()) == json.loads(static_class.read_text())
