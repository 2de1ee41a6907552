"""`grader batch` on each LMS's bulk download, end to end: who each student is, everywhere, and the grade file.

Every download of tests/data/lms/ (grader/lms says what each follows) is graded by the real
command in static mode; a full-mode run on a small Canvas group download grades on the engine.
For each student the test asserts the identity in results.json, on the dashboard (read in
headless Chromium) and at the head of their report, and the LMS's grade file byte for byte
(Moodle's "Last modified (grade)", the time of writing, aside). The expected files in
tests/data/lms/expected/batch/ were written by hand: a submission with the right port, image
and named volume earns the four static checks (7 of 14), one publishing 6380 loses redis-port's
2 (5), and one with no Compose file earns nothing.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.test_batch import child_pids, grader_resources

DATA = REPO / "tests" / "data" / "lms"
EXPECTED = DATA / "expected" / "batch"
CANVAS_ID = ["--assignment", "Compose Lab", "--assignment-id", "123456"]

# download -> (options, {submission id: (name on the dashboard, LMS line, marks, identity fields)}, skipped rows)
CASES: dict[str, tuple[list[str], dict[str, tuple[str, str, list[str], dict[str, Any]]], int]] = {
    "canvas": (CANVAS_ID, {
        "canvas-doejane_40101": ("doejane", "Canvas user 40101", [], {"user_id": "40101", "late": False}),
        "canvas-smithjohn_40102": ("smithjohn", "Canvas user 40102 · late", ["late"],
                                   {"user_id": "40102", "late": True,
                                    "files": ["docker-compose.yml", "app.py", "Dockerfile", "requirements.txt"]}),
        "canvas-garcíaana_40103": ("garcíaana", "Canvas user 40103", [], {"user_id": "40103"}),
        "canvas-leeminho_40104": ("leeminho", "Canvas user 40104", [], {"files": ["text.html"]}),
        "canvas-nguyenbao_40105": ("nguyenbao", "Canvas user 40105", [], {"files": ["lab3.zip", "screenshot.png"]}),
    }, 0),
    "canvas_groups": (["--lms", "canvas", "--lms-groups", *CANVAS_ID], {
        "canvas-teamblue_40110": ("teamblue", "Canvas user 40110 · group teamblue", ["group"],
                                  {"group": "teamblue", "user_id": "40110"}),
        "canvas-teamred_40120": ("teamred", "Canvas user 40120 · late · group teamred", ["group", "late"],
                                 {"group": "teamred", "late": True}),
    }, 0),
    "canvas_anonymous": (CANVAS_ID, {
        "canvas-anon_Qx7kP": ("anon_Qx7kP", "Canvas user Qx7kP · anonymous", ["anonymous"],
                              {"anonymous": True, "user_id": "", "participant_id": "Qx7kP"}),
        "canvas-anon_b3ZtW": ("anon_b3ZtW", "Canvas user b3ZtW · anonymous · late", ["late", "anonymous"],
                              {"anonymous": True, "late": True}),
    }, 2),
    "moodle": ([], {
        "moodle-Jane Doe_1042": ("Jane Doe", "Moodle participant 1042", [],
                                 {"participant_id": "1042", "files": ["docker-compose.yml", "web/app.py", "onlinetext.html"]}),
        "moodle-José Álvarez_1043": ("José Álvarez", "Moodle participant 1043", [], {"participant_id": "1043"}),
    }, 0),
    "moodle_flat": ([], {  # Moodle 4.1+ without a folder per student: the files carry the prefix
        "moodle-Jane Doe_1042": ("Jane Doe", "Moodle participant 1042", [],
                                 {"participant_id": "1042", "files": ["app.py", "docker-compose.yml"]}),
        "moodle-Li Wei_1044": ("Li Wei", "Moodle participant 1044", [], {"files": ["compose.yml"]}),
    }, 0),
    "moodle_legacy": ([], {  # before 4.1: the folders end in "_"
        "moodle-Jane Doe_1042": ("Jane Doe", "Moodle participant 1042", [], {"participant_id": "1042"}),
        "moodle-Li Wei_1044": ("Li Wei", "Moodle participant 1044", [], {"files": ["docker-compose.yaml"]}),
    }, 0),
    "moodle_blind": ([], {
        "moodle-Participant 4021": ("Participant 4021", "Moodle participant 4021 · anonymous", ["anonymous"],
                                    {"anonymous": True}),
        "moodle-Participant 4022": ("Participant 4022", "Moodle participant 4022 · anonymous", ["anonymous"],
                                    {"anonymous": True}),
    }, 0),
    "moodle_team": (["--lms-groups"], {
        "moodle-Team Blue_12": ("Team Blue", "Moodle group id 12 · group Team Blue", ["group"], {"group_id": "12"}),
        "moodle-Default group": ("Default group", "Moodle · group Default group", ["group"], {"group_id": ""}),
    }, 2),
    "blackboard": (["--assignment", "Compose Lab", "--assignment-id", "654321"], {
        "blackboard-Jane Doe_jdoe": ("Jane Doe", "Blackboard user jdoe", [],
                                     {"username": "jdoe", "attempt": "2025-03-02T18:30:15",
                                      "files": ["docker-compose.yml", "notes.txt"], "superseded": ["docker-compose.yml"]}),
        "blackboard-Kim Lee_k_lee": ("Kim Lee", "Blackboard user k_lee", [], {"username": "k_lee"}),
    }, 0),
    "brightspace": (["--class-list", str(DATA / "brightspace_class_list.csv"), "--assignment", "Compose Lab"], {
        "brightspace-Jane Doe_20067930": ("Jane Doe", "Brightspace user 20067930", [],
                                          {"org_defined_id": "20067930", "username": "jdoe",
                                           "attempt": "2025-03-02T18:30:00"}),
        "brightspace-Ana García_20067931": ("Ana García", "Brightspace user 20067931", [],
                                            {"org_defined_id": "20067931", "email": "agarcia@example.edu"}),
    }, 0),
    "brightspace_folders": (["--class-list", str(DATA / "brightspace_class_list.csv"), "--assignment", "Compose Lab"], {
        "brightspace-Jane Doe_20067930": ("Jane Doe", "Brightspace user 20067930", [],
                                          {"username": "jdoe", "attempt": "2025-03-01T10:05:00"}),
        "brightspace-Ana García_20067931": ("Ana García", "Brightspace user 20067931", [],
                                            {"username": "agarcia", "files": ["compose.yaml"]}),
    }, 0),
}


def run_batch(folder: Path, out: Path, *options: str, static: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "250", "NO_COLOR": "1"}
    command = [sys.executable, "-m", "grader.cli", "batch", str(folder), "--out", str(out), "-j", "2",
               *(["--static"] if static else []), *options]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    root = tmp_path_factory.mktemp("lms-batches")
    return {name: (root / name, run_batch(DATA / name, root / name, *options))
            for name, (options, _, _) in CASES.items()}


def entries_of(out: Path) -> dict[str, dict[str, Any]]:
    return {entry["submission"]: entry for entry in json.loads((out / "results.json").read_text(encoding="utf-8"))}


def dashboard_rows(browser, out: Path) -> dict[str, tuple[str, str, list[str]]]:
    page = browser.new_page()
    try:
        page.goto((out / "index.html").as_uri(), wait_until="load")
        rows = page.eval_on_selector_all("#students tbody tr", """rows => rows.map(r => [
            r.dataset.submission, r.querySelector('a.name').textContent,
            (r.querySelector('.lms-id') || {}).textContent || '',
            [...r.querySelectorAll('[data-mark]')].map(b => b.dataset.mark)])""")
        title = page.title()
    finally:
        page.close()
    assert "download): class results" in title
    return {submission: (name, label, marks) for submission, name, label, marks in rows}


@pytest.mark.browser
@pytest.mark.parametrize("download", list(CASES))
def test_each_student_is_named_everywhere(download: str, batches, browser) -> None:
    out, process = batches[download]
    assert process.returncode == 0, process.stdout + process.stderr
    _, students, _ = CASES[download]
    lms = download.split("_")[0]
    assert f"Read as a {lms.capitalize()} download: {len(students)} submission(s)" in process.stdout
    entries = entries_of(out)
    assert set(entries) == set(students)
    rows = dashboard_rows(browser, out)
    for submission, (name, label, marks, fields) in students.items():
        identity = entries[submission]["lms"]
        assert identity["lms"] == lms and {key: identity[key] for key in fields} == fields, submission
        assert rows[submission] == (name, label, marks)
        report = (out / entries[submission]["batch"]["report"]).read_text(encoding="utf-8")
        assert re.search(r"<h1>(.*?)</h1>", report).group(1) == name
        assert f'<p class="subtitle" id="who">{label}</p>' in report
        assert entries[submission]["batch"]["kind"] == "lms" and entries[submission]["student"] is None
    grades = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text(encoding="utf-8-sig"))))
    assert {row["submission"]: row["name"] for row in grades} == {key: value[0] for key, value in students.items()}


@pytest.mark.parametrize("download", list(CASES))
def test_the_grade_file_is_the_lms_s_own(download: str, batches) -> None:
    out, process = batches[download]
    lms = download.split("_")[0]
    written = (out / f"{lms}-grades.csv").read_bytes().decode("utf-8")
    expected = (EXPECTED / f"{download}.csv").read_bytes().decode("utf-8")
    if lms == "moodle":  # the worksheet carries when it was written: Moodle's stale-grade rule needs it
        stamps = set(re.findall(r",Yes,,([^,]+),", written))
        assert len(stamps) <= 1 and all(abs(datetime.fromisoformat(stamp) - datetime.now(timezone.utc))
                                        < timedelta(minutes=30) for stamp in stamps)
        expected = expected.replace("{NOW}", stamps.pop() if stamps else "")
    assert written == expected
    skipped = CASES[download][2]
    if skipped:
        assert f"Not in {lms}-grades.csv ({skipped}): grade them in {lms.capitalize()} by hand" in process.stdout
    else:
        assert "Not in " not in process.stdout


def test_the_grades_rescaled_again_without_grading(batches, tmp_path: Path) -> None:
    out, _ = batches["canvas"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "250"}
    again = subprocess.run([sys.executable, "-m", "grader.cli", "report", str(out / "results.json"), "--out",
                            str(tmp_path), "--assignment-id", "999", "--points-possible", "100"],
                           capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    rows = list(csv.reader(io.StringIO((tmp_path / "canvas-grades.csv").read_text(encoding="utf-8"))))
    assert rows[0][4] == "canvas (999)" and [row[4] for row in rows[1:]] == ["50", "50", "35.71", "0", "50"]


def test_a_rerun_grades_only_what_changed_and_never_writes_the_download(tmp_path: Path) -> None:
    download = tmp_path / "download"
    download.mkdir()
    for item in (DATA / "blackboard").iterdir():
        (download / item.name).write_bytes(item.read_bytes())
    before = {item.name: item.read_bytes() for item in download.iterdir()}
    out = tmp_path / "out"
    options = ["--assignment-id", "654321"]
    assert run_batch(download, out, *options).returncode == 0
    second = run_batch(download, out, *options)
    assert "0 graded, 2 unchanged since the last run" in second.stdout
    late = download / "Compose Lab_k_lee_attempt_2025-03-01-09-00-00_compose.yaml"
    late.write_text(late.read_text().replace('"6379:6379"', '"6380:6379"'))
    third = run_batch(download, out, *options)
    assert "1 graded, 1 unchanged since the last run" in third.stdout
    assert entries_of(out)["blackboard-Kim Lee_k_lee"]["score"] == 5
    renamed = download / "Compose Lab_jdoe_attempt_2025-03-02-18-30-15_notes.txt"
    renamed.rename(download / "Compose Lab_jdoe_attempt_2025-03-02-18-30-15_notes.md")  # a name is content too
    assert "1 graded, 1 unchanged since the last run" in run_batch(download, out, *options).stdout
    assert {item.name for item in download.iterdir()} == set(before) - {renamed.name} | {renamed.name[:-4] + ".md"}


def test_a_zipped_download_and_the_usage_errors(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for item in (DATA / "canvas_groups").iterdir():
            handle.write(item, item.name)
    done = run_batch(archive, tmp_path / "out", "--lms-groups", *CANVAS_ID)
    assert done.returncode == 0 and set(entries_of(tmp_path / "out")) == set(CASES["canvas_groups"][1])
    for options, message in ((["--grade-file", "canvas"], "needs --assignment-id"),
                             (["--lms", "moodle"], "no file is named as Moodle"),
                             (["--grade-file", "blackboard", "--assignment-id", "x1"], "column id must be digits"),
                             (["--class-list", str(DATA / "brightspace_class_list.csv")], "class list maps Brightspace")):
        refused = run_batch(DATA / "canvas", tmp_path / "refused", *options)
        assert refused.returncode == 2 and message in refused.stderr, (options, refused.stderr)
        assert not (tmp_path / "refused" / "results.json").exists()
    plain = run_batch(DATA / "canvas", tmp_path / "plain", "--lms", "none")  # as a plain folder: its one zip
    assert plain.returncode == 0 and "Read as" not in plain.stdout
    assert set(entries_of(tmp_path / "plain")) == {"nguyenbao_40105_900031_lab3"}
    detected = run_batch(DATA / "canvas", tmp_path / "detected")
    assert "no Canvas grade file: add --assignment-id to write canvas-grades.csv" in detected.stdout
    assert not (tmp_path / "detected" / "canvas-grades.csv").exists()


@pytest.mark.docker
def test_a_full_grading_of_a_canvas_group_download(tmp_path: Path, docker_engine) -> None:
    """On the engine: each group's stack really boots (the containers seen are our workers'), and nothing is left."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "250", "NO_COLOR": "1"}
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "grader.cli", "batch", str(DATA / "canvas_groups"), "--out", str(out),
                                "-j", "2", "--lms-groups", *CANVAS_ID], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    ours, seen = {process.pid}, set()
    while process.poll() is None:
        for pid in list(ours):
            ours |= child_pids(pid)
        listing = subprocess.run(["docker", "ps", "--filter", "label=org.compose-grader.owner", "--format",
                                  '{{.Label "org.compose-grader.owner"}}\t{{.Image}}\t{{.Label "com.docker.compose.project"}}'],
                                 capture_output=True, text=True, timeout=60).stdout
        seen |= {tuple(line.split("\t")) for line in listing.splitlines()
                 if line.strip() and int(line.split("\t")[0].rpartition(":")[2] or 0) in ours}
        time.sleep(0.3)
    stdout, stderr = process.communicate()
    assert process.returncode == 0, stdout + stderr
    entries = entries_of(out)
    statuses = {name: {check["id"]: check["status"] for check in entry["checks"]} for name, entry in entries.items()}
    assert statuses["canvas-teamblue_40110"]["stack-up"] == statuses["canvas-teamblue_40110"]["redis-ping"] == "passed"
    assert statuses["canvas-teamred_40120"]["redis-port"] == "failed"
    assert statuses["canvas-teamred_40120"]["redis-ping"] == "passed"
    assert {entry["mode"] for entry in entries.values()} == {"full"}
    projects = {project for _, image, project in seen if image.startswith("redis")}
    assert len(projects) >= 2, seen  # one stack per group, on the engine
    owners = {owner for owner, _, _ in seen}
    assert grader_resources(owners) == {"containers": set(), "volumes": set(), "networks": set()}
    rows = list(csv.reader(io.StringIO((out / "canvas-grades.csv").read_text(encoding="utf-8"))))
    assert {row[1]: float(row[4]) for row in rows[1:]} == {
        entry["lms"]["user_id"]: entry["score"] for entry in entries.values()}


def test_a_queue_task_carries_the_students_files_under_their_own_names(tmp_path: Path) -> None:
    import zipfile

    from grader.batch.downloads import LmsOptions, open_download, submissions_of
    from grader.batch.queue.config import QueueError
    from grader.batch.queue.payload import task_archive
    from grader.lms import LmsSubmission, SubmittedFile

    with ExitStack() as stack:
        found = open_download(DATA / "canvas", LmsOptions(), stack)
        assert found is not None
        late = next(item for item in submissions_of(found.download) if item.id == "canvas-smithjohn_40102")
        archive = zipfile.ZipFile(io.BytesIO(task_archive(late)))
        assert sorted(archive.namelist()) == ["Dockerfile", "app.py", "docker-compose.yml", "requirements.txt"]
        assert archive.read("docker-compose.yml") == (DATA / "canvas" / late.lms.files[0].path).read_bytes()
        bomb = tmp_path / "bomb.zip"
        with zipfile.ZipFile(bomb, "w") as handle:
            handle.writestr("../escape.yml", "x")
        refused = dataclasses.replace(late, source=tmp_path, lms=LmsSubmission(
            late.lms.identity, (SubmittedFile("bomb.zip", "bomb.zip"),)))
        with pytest.raises(QueueError, match="canvas-smithjohn_40102"):
            task_archive(refused)
