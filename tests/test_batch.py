"""`grader batch` and `grader report`: discovery, hashing, the gradebook, and whole batches
graded end to end against a real Docker engine (parallel, isolated, interruptible)."""
from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from ruamel.yaml import YAML

import grader.batch
from grader.batch import default_jobs, grade_batch
from grader.batch.discovery import Submission, content_hash, discover
from grader.batch.source import not_graded
from grader.report import gradebook
from grader.results import PolicyViolation
from grader.rubric import Rubric
from tests.conftest import GRADER_LABEL, SAMPLES, signals_as_a_terminal_gives_them

EXPECTED = YAML(typ="safe").load((SAMPLES / "expected.yml").read_text())
CONTRACT_KEYS = {"submission", "score", "max_score", "checks", "grader_version", "started_at", "duration_s"}
CHECK_KEYS = {"id", "title", "status", "points", "max_points", "bonus", "message", "hint", "location", "duration_s"}


def grader_command() -> list[str]:
    """`grader batch/report` once grader/cli/main.py registers them; grader.cli.batch on its own until then."""
    from grader.cli import main as cli

    if "batch" in getattr(cli.main, "commands", {}):
        return [sys.executable, "-m", "grader.cli"]
    return [sys.executable, "-m", "grader.cli.batch"]


def run_grader(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    process = subprocess.run([*grader_command(), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, "COLUMNS": "160"})
    assert "Traceback" not in process.stdout + process.stderr, process.stdout + process.stderr
    return process


def copy_sample(sample: str, target: Path) -> Path:
    shutil.copytree(SAMPLES / sample, target, symlinks=True)
    return target


def zip_folder(folder: Path, archive: Path, top: str) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as handle:
        for path in sorted(folder.rglob("*")):
            handle.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return archive


def statuses(entry: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in entry["checks"]}


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# No engine needed -----------------------------------------------------------------------------------

def test_discover(tmp_path: Path) -> None:
    for name in ("bob", "Alice", ".git", "__MACOSX", "reports"):
        (tmp_path / name).mkdir()
    for name in ("carol.zip", "bob.zip", "notes.txt", ".hidden.zip"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "link").symlink_to(tmp_path / "bob")
    found = discover(tmp_path, exclude=(tmp_path / "reports",))
    assert [(s.id, s.source.name, s.kind) for s in found] == [
        ("Alice", "Alice", "folder"), ("bob", "bob", "folder"), ("bob.zip", "bob.zip", "zip"),
        ("carol", "carol.zip", "zip")]


def test_content_hash_follows_content_not_timestamps(tmp_path: Path) -> None:
    folder = copy_sample("perfect", tmp_path / "perfect")
    submission = Submission("perfect", folder, "folder")
    first = content_hash(submission)
    os.utime(folder / "app.py", (1, 1))
    assert content_hash(submission) == first
    (folder / "app.py").write_text((folder / "app.py").read_text() + "\n# changed\n")
    assert content_hash(submission) != first
    (folder / "extra").mkdir()
    (folder / "extra" / "x.txt").write_text("x")
    second = content_hash(submission)
    (folder / "extra" / "x.txt").rename(folder / "extra" / "y.txt")
    assert content_hash(submission) != second, "a renamed file changes the hash"
    archive = zip_folder(folder, tmp_path / "p.zip", "perfect")
    assert content_hash(Submission("p", archive, "zip")) != content_hash(submission)


def test_default_jobs_fits_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.batch import machine

    jobs = default_jobs()
    assert 1 <= jobs <= machine.cpu_count() + 1
    monkeypatch.setattr(machine, "cpu_count", lambda: 8)
    monkeypatch.setattr(machine, "available_memory_bytes", lambda: 3 * 2**30 + 5)
    assert default_jobs() == 3  # memory decides: a GiB per grading
    monkeypatch.setattr(machine, "available_memory_bytes", lambda: 64 * 2**30)
    assert default_jobs() == 9  # one more than the CPUs: gradings wait on the engine
    monkeypatch.setattr(machine, "available_memory_bytes", lambda: 2**29)
    assert default_jobs() == 1


def test_not_graded_keeps_the_contract() -> None:
    entry = not_graded(Submission("x", Path("x.zip"), "zip"), Rubric(), refused="The archive holds a path ...")
    assert CONTRACT_KEYS <= set(entry)
    assert entry["policy"][0]["rule"] == "unsafe-archive" and entry["score"] == 0
    assert [check["id"] for check in entry["checks"]][:2] == ["compose-file", "redis-image"]
    assert all(CHECK_KEYS <= set(check) and check["status"] == "skipped" for check in entry["checks"])
    assert gradebook.state(entry) == "refused"
    errored = not_graded(Submission("y", Path("y"), "folder"), Rubric(), error="docker went away")
    assert gradebook.state(errored) == "error" and all(c["status"] == "error" for c in errored["checks"])


def test_a_refused_zip_has_the_shape_of_any_policy_refusal() -> None:
    """The report reads each refusal as a PolicyViolation (its hint too): a refused zip's entry is one."""
    entry = not_graded(Submission("x", Path("x.zip"), "zip"), Rubric(), refused="It holds ../evil.", hint="Zip it again.")
    refusal = entry["policy"][0]
    assert PolicyViolation.from_dict(refusal).to_dict() == refusal
    assert refusal["message"] == "It holds ../evil. Zip it again." and refusal["location"] is None


def _batch_imports(path: Path) -> set[str]:
    """Every grader.batch module that ``path`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
        found |= {name for name in names if name.startswith("grader.batch")}
    return found


def test_the_two_backends_share_modules_and_never_import_each_other() -> None:
    """The pool and the queue both build on events, source and discovery; neither imports the
    other, nor what chooses between them (backend.py, run.py, the package itself)."""
    batch = Path(grader.batch.__file__).parent
    above = {"grader.batch", "grader.batch.backend", "grader.batch.run"}
    queue_modules = sorted((batch / "queue").glob("*.py"))
    assert len(queue_modules) >= 5
    for path in queue_modules:
        wrong = _batch_imports(path) & (above | {"grader.batch.pool"})
        assert not wrong, f"{path.name} imports {wrong}"
    pool = _batch_imports(batch / "pool.py")
    assert not {name for name in pool if name.startswith("grader.batch.queue")} and not pool & above, pool
    assert "grader.batch.source" in pool and "grader.batch.source" in _batch_imports(batch / "queue" / "worker.py")


@pytest.fixture(scope="module")
def static_batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, object]:
    """A static batch (no containers): three samples, an unsafe zip, a roster with a missing student."""
    root = tmp_path_factory.mktemp("static")
    folder = root / "class"
    folder.mkdir()
    copy_sample("perfect", folder / "lab3-mgarcia")
    copy_sample("wrong_port", folder / "lab3-toliveira")
    copy_sample("broken_yaml", folder / "index")           # a name that must not overwrite index.html
    with zipfile.ZipFile(folder / "sneaky.zip", "w") as handle:
        handle.writestr("lab/compose.yaml", "services: {}\n")
        handle.writestr("../../evil.txt", "owned")
    roster = root / "roster.csv"
    roster.write_text('"identifier","github_username","github_id","name"\n'
                      '"s1","mgarcia","11","Maria Garcia"\n'
                      '"s2","toliveira","12","=HYPERLINK(""http://x"")"\n'
                      '"s3","ghost","13","Ghost Student"\n', encoding="utf-8")
    out = root / "out"
    result = grade_batch(folder, out, jobs=2, roster=roster, mode="static")
    return folder, out, result


def test_static_batch_grades_everything(static_batch) -> None:
    folder, out, result = static_batch
    assert sorted(result.graded) == ["index", "lab3-mgarcia", "lab3-toliveira", "sneaky"]
    by_name = {entry["submission"]: entry for entry in result.submissions}
    assert statuses(by_name["lab3-toliveira"])["redis-port"] == "failed"
    assert statuses(by_name["index"])["compose-file"] == "failed"
    sneaky = by_name["sneaky"]
    assert sneaky["policy"] and "leaves its folder" in sneaky["policy"][0]["message"]
    assert not (folder.parent / "evil.txt").exists() and not (out.parent / "evil.txt").exists()
    assert [student.key for student in result.missing] == ["s3"]
    assert result.unmatched == ["index", "sneaky"]


def test_grades_csv_columns(static_batch) -> None:
    _, out, result = static_batch
    rows = read_csv(out / "grades.csv")
    check_ids = [check["id"] for check in result.submissions[0]["checks"]]
    assert list(rows[0]) == ["id", "name", "score", "max_score", *check_ids, "status", "submission", "github_username"]
    by_id = {row["id"]: row for row in rows}
    assert set(by_id) == {"s1", "s2", "s3", "index", "sneaky"}
    assert by_id["s1"]["name"] == "Maria Garcia" and by_id["s1"]["github_username"] == "mgarcia"
    assert by_id["s2"]["name"].startswith("'="), "a formula in a name is neutralised"
    assert by_id["s2"]["redis-port"] == "0" and by_id["s2"]["redis-image"] == "2"
    assert by_id["s3"]["status"] == "missing" and by_id["s3"]["score"] == ""
    assert by_id["sneaky"]["status"] == "refused"
    for row in rows:
        if row["status"] != "missing":
            assert float(row["score"]) == sum(float(row[c]) for c in check_ids)
            assert row["max_score"] == "14"


def test_results_json_is_the_check_json_plus_roster(static_batch) -> None:
    _, out, _ = static_batch
    entries = json.loads((out / "results.json").read_text())
    assert isinstance(entries, list)
    graded = [entry for entry in entries if not entry.get("missing")]
    assert len(graded) == 4
    for entry in graded:
        assert CONTRACT_KEYS <= set(entry)
        assert all(CHECK_KEYS <= set(check) for check in entry["checks"])
        assert {"source", "content_hash", "grading_key", "report"} <= set(entry["batch"])
        assert (out / entry["batch"]["report"]).is_file()
    mgarcia = next(entry for entry in graded if entry["submission"] == "lab3-mgarcia")
    assert mgarcia["student"] == {"identifier": "s1", "github_username": "mgarcia", "github_id": "11",
                                  "name": "Maria Garcia"}
    index_entry = next(entry for entry in graded if entry["submission"] == "index")
    assert index_entry["batch"]["report"] != "index.html"
    assert [entry["student"]["identifier"] for entry in entries if entry.get("missing")] == ["s3"]
    html = (out / "index.html").read_text()
    for text in ("Maria Garcia", "s2", "Ghost Student", "sneaky", "Refused"):
        assert text in html


def test_report_rerenders_without_grading(static_batch, tmp_path: Path) -> None:
    _, out, _ = static_batch
    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(out / "results.json", copy / "results.json")
    process = run_grader("report", copy / "results.json")
    assert process.returncode == 0, process.stdout + process.stderr
    assert (copy / "index.html").read_text().count('<tr data-state="') == 4
    assert read_csv(copy / "grades.csv") == read_csv(out / "grades.csv")
    assert (copy / "lab3-mgarcia.html").is_file() and (copy / "index-report.html").is_file()
    assert json.loads((copy / "results.json").read_text()) == json.loads((out / "results.json").read_text())
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    assert run_grader("report", bad).returncode == 2


# Against a real engine ------------------------------------------------------------------------------

# folder in the batch -> (sample it copies, roster row or None)
CLASS = {
    "lab3-mgarcia": ("perfect", ("s01", "mgarcia", "101", "maria   GARCIA")),  # case and spaces do not matter
    "lab3-toliveira": ("wrong_port", ("s02", "toliveira", "102", "")),         # no name on the roster: any name
    "broken_yaml": ("broken_yaml", None),                                     # not on the roster
    "lab3-srossi": ("no_web", ("s03", "srossi", "103", "Sofia Rossi")),        # handed in as a zip
    "lab3-impostor": ("no_web", ("s04", "impostor", "104", "Somebody Else")),  # name does not match
}
ZIPPED = "lab3-srossi"
GHOST = ("s99", "ghost", "199", "Ghost Student")


def grader_resources(owners: set[str] | None = None) -> dict[str, set[str]]:
    """Containers, volumes and networks with the grader's label (of these owners only, when given)."""
    found = {}
    for kind, args in (("containers", ["ps", "-a"]), ("volumes", ["volume", "ls"]), ("networks", ["network", "ls"])):
        listing = subprocess.run(["docker", *args, "--filter", f"label={GRADER_LABEL}", "--format",
                                  '{{.ID}}\t{{.Label "org.compose-grader.owner"}}' if kind == "containers"
                                  else '{{.Name}}\t{{.Label "org.compose-grader.owner"}}'],
                                 capture_output=True, text=True, timeout=60).stdout.split("\n")
        found[kind] = {line.split("\t")[0] for line in listing if line.strip()
                       and (owners is None or line.split("\t")[-1] in owners)}
    return found


def recorded(out: Path) -> list[str]:
    """The submissions results.json lists now (a batch checkpoints it after each grading)."""
    try:
        return [entry.get("submission") for entry in json.loads((out / "results.json").read_text())]
    except (OSError, ValueError):  # not written yet, or caught while it is written
        return []


def child_pids(pid: int) -> set[int]:
    output = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return {int(value) for value in output.split()}


class DockerWatch:
    """Polls the grader's running containers while a batch runs: which project, which owner, which host
    ports, which networks."""

    def __init__(self) -> None:
        self.snapshots: list[list[tuple[str, str, str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DockerWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            output = subprocess.run(
                ["docker", "ps", "--filter", f"label={GRADER_LABEL}", "--format",
                 '{{.Label "com.docker.compose.project"}}\t{{.Label "org.compose-grader.owner"}}\t{{.Ports}}'
                 '\t{{.Networks}}'],
                capture_output=True, text=True, timeout=30).stdout
            self.snapshots.append([tuple(line.split("\t")) for line in output.splitlines() if line.strip()])
            self._stop.wait(0.3)


@pytest.fixture(scope="module")
def class_batch(tmp_path_factory: pytest.TempPathFactory, docker_engine) -> dict:
    root = tmp_path_factory.mktemp("class")
    folder = root / "submissions"
    folder.mkdir()
    for name, (sample, _) in CLASS.items():
        copy_sample(sample, folder / name)
    zip_folder(folder / ZIPPED, folder / f"{ZIPPED}.zip", top="no_web")
    shutil.rmtree(folder / ZIPPED)
    roster = root / "classroom_roster.csv"
    with open(roster, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL)
        writer.writerow(["identifier", "github_username", "github_id", "name"])
        writer.writerows([row for _, row in CLASS.values() if row] + [GHOST])
    out = root / "reports"
    started = time.monotonic()
    process = run_grader("batch", folder, "-j", "2", "--out", out, "--roster", roster)
    return {"folder": folder, "out": out, "roster": roster, "process": process,
            "seconds": time.monotonic() - started}


@pytest.mark.docker
def test_batch_grades_each_submission_to_its_expected_statuses(class_batch) -> None:
    process = class_batch["process"]
    assert process.returncode == 0, process.stdout + process.stderr
    entries = json.loads((class_batch["out"] / "results.json").read_text())
    graded = {entry["submission"]: entry for entry in entries if not entry.get("missing")}
    assert set(graded) == set(CLASS)
    for name, (sample, _) in CLASS.items():
        expected = dict(EXPECTED[sample]["checks"])
        if name == "lab3-impostor":
            expected["student-name"] = "failed"
        assert statuses(graded[name]) == expected, f"{name}: {json.dumps(graded[name]['checks'], indent=1)}"
        assert graded[name]["mode"] == "full"
    assert graded[ZIPPED]["batch"]["source"] == f"{ZIPPED}.zip"
    impostor = next(c for c in graded["lab3-impostor"]["checks"] if c["id"] == "student-name")
    assert impostor["expected"] == "Somebody Else" and impostor["found"] == "Sofia Rossi"
    # Plain output (not a terminal): one line per finished submission, then the class summary.
    finished = re.findall(r"^\[\s*\d+/5\] (\S+): ", process.stdout, flags=re.MULTILINE)
    assert sorted(finished) == sorted(CLASS)
    assert "Class summary" in process.stdout and "Score distribution" in process.stdout
    assert "Ghost Student" in process.stdout


@pytest.mark.docker
def test_batch_writes_gradebook_and_dashboard_for_every_student(class_batch) -> None:
    out = class_batch["out"]
    rows = {row["id"]: row for row in read_csv(out / "grades.csv")}
    assert set(rows) == {"s01", "s02", "s03", "s04", "s99", "broken_yaml"}
    assert rows["s01"]["score"] == "17" and rows["s01"]["max_score"] == "14" and rows["s01"]["flask-counter"] == "3"
    assert rows["s02"]["redis-port"] == "0" and rows["s02"]["status"] == "failed"
    assert rows["s99"]["status"] == "missing" and rows["s99"]["name"] == "Ghost Student"
    assert rows["s04"]["student-name"] == "0"
    html = (out / "index.html").read_text()
    for text in ("maria   GARCIA", "s02", "broken_yaml", "Sofia Rossi", "Somebody Else", "Ghost Student"):
        assert text in html, text
    assert 'id="missing"' in html and 'data-student="s99"' in html
    for entry in json.loads((out / "results.json").read_text()):
        if not entry.get("missing"):
            report = out / entry["batch"]["report"]
            assert report.is_file() and f'href="{entry["batch"]["report"]}"' in html


@pytest.mark.docker
def test_rerun_skips_unchanged_submissions(class_batch) -> None:
    folder, out, roster = class_batch["folder"], class_batch["out"], class_batch["roster"]
    before = {e["submission"]: e for e in json.loads((out / "results.json").read_text()) if not e.get("missing")}
    compose = folder / "broken_yaml" / "docker-compose.yml"
    compose.write_text(compose.read_text() + "\n# edited after grading\n")
    started = time.monotonic()
    process = run_grader("batch", folder, "-j", "2", "--out", out, "--roster", roster)
    assert process.returncode == 0, process.stdout + process.stderr
    assert time.monotonic() - started < 30
    assert len(re.findall(r"unchanged since last graded", process.stdout)) == 4
    after = {e["submission"]: e for e in json.loads((out / "results.json").read_text()) if not e.get("missing")}
    assert set(after) == set(before)
    for name in CLASS:
        if name == "broken_yaml":
            assert after[name]["batch"]["content_hash"] != before[name]["batch"]["content_hash"]
            assert after[name]["started_at"] >= before[name]["started_at"]
        else:
            assert after[name] == before[name], f"{name} was graded again"
    assert "1 graded, 4 unchanged" in process.stdout


@pytest.mark.docker
def test_report_command_rerenders_the_class(class_batch) -> None:
    out = class_batch["out"]
    csv_before = read_csv(out / "grades.csv")
    for name in ("index.html", "grades.csv", "lab3-mgarcia.html"):
        (out / name).unlink()
    process = run_grader("report", out / "results.json", timeout=60)
    assert process.returncode == 0, process.stdout + process.stderr
    assert read_csv(out / "grades.csv") == csv_before
    assert "Ghost Student" in (out / "index.html").read_text()
    assert "Maria Garcia" in (out / "lab3-mgarcia.html").read_text()


@pytest.mark.docker
def test_two_copies_graded_at_once_are_isolated(tmp_path: Path, docker_engine) -> None:
    folder = tmp_path / "twins"
    folder.mkdir()
    copy_sample("perfect", folder / "twin-a")
    copy_sample("perfect", folder / "twin-b")
    with DockerWatch() as watch:
        process = run_grader("batch", folder, "-j", "2", "--out", tmp_path / "out")
    assert process.returncode == 0, process.stdout + process.stderr
    entries = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [entry["submission"] for entry in entries] == ["twin-a", "twin-b"]
    for entry in entries:
        assert all(check["status"] == "passed" for check in entry["checks"]), entry["checks"]
    # Both ran at the same time, from two worker processes, each under its own project on its own
    # (internal) networks, with nothing published on the host to collide.
    host = socket.gethostname()
    overlapping = []
    for snapshot in watch.snapshots:
        projects: dict[str, tuple[str, set[str], set[str]]] = {}
        for project, owner, ports, networks in snapshot:
            if not owner.startswith(f"{host}:"):
                continue
            entry = projects.setdefault(project, (owner, set(), set()))
            entry[1].update(re.findall(r":(\d+)->", ports))
            entry[2].update(name for name in networks.split(",") if name)
        if len(projects) >= 2:
            overlapping.append(projects)
    assert overlapping, "the two gradings never ran at the same time"
    projects = max(overlapping, key=len)
    owners = {owner for owner, _, _ in projects.values()}
    assert len(owners) >= 2, f"both gradings ran in one process: {projects}"
    assert not any(ports for _, ports, _ in projects.values()), f"host ports published: {projects}"
    networks = [names for _, _, names in projects.values()]
    assert all(networks) and not set.intersection(*networks), f"the gradings share a network: {projects}"


@pytest.mark.docker
@pytest.mark.parametrize("target", ["group", "parent"])
def test_ctrl_c_stops_cleanly_and_keeps_what_finished(tmp_path: Path, docker_engine, target: str) -> None:
    """Ctrl-C in a terminal signals the whole group; `kill -INT` only the parent, which forwards it."""
    folder = tmp_path / "class"
    folder.mkdir()
    copy_sample("broken_yaml", folder / "a-quick")       # done in a second
    for name in ("b-slow", "c-slow", "d-slow"):
        copy_sample("perfect", folder / name)
    out = tmp_path / "out"
    process = subprocess.Popen([*grader_command(), "batch", str(folder), "-j", "2", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=signals_as_a_terminal_gives_them)
    host = socket.gethostname()
    workers: set[int] = set()
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:  # a-quick recorded as finished, and another grading booting
            workers |= child_pids(process.pid)
            owners = {f"{host}:{pid}" for pid in workers}
            if workers and grader_resources(owners)["containers"] and "a-quick" in recorded(out):
                break
            time.sleep(0.3)
        else:
            pytest.fail("a-quick did not finish, or no grading booted, within 90 s")
        time.sleep(1.0)
        if target == "group":
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert "Traceback" not in stdout + stderr, stdout + stderr
    assert process.returncode == 130, stdout + stderr
    assert "Stopped" in stdout
    entries = json.loads((out / "results.json").read_text())
    names = [entry["submission"] for entry in entries]
    assert "a-quick" in names, "what finished before Ctrl-C is kept"
    assert len(names) < 4
    assert all(not gradebook.is_errored(entry) for entry in entries)
    assert (out / "index.html").is_file() and (out / "grades.csv").is_file()
    left = grader_resources({f"{host}:{pid}" for pid in workers})
    assert left == {"containers": set(), "volumes": set(), "networks": set()}, f"left behind: {left}"
    assert all(pid not in child_pids(os.getpid()) for pid in workers)
