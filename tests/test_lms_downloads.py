"""Reading LMS bulk downloads: who each entry is, how files group, and the folders materialised.

The downloads in tests/data/lms/ follow each LMS's documented (or, where noted in
grader/lms/, observed) naming: Canvas with a re-upload suffix, a late marker, a text entry and
a zip; a Canvas group and an anonymous assignment; Moodle folders (4.1+ and before), flat files,
blind marking and teams; Blackboard with a student who made two attempts and a username with
``_``; Brightspace flat and in folders, with two submissions by one student.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

import grader
from grader.lms import Download, LmsError, detect, materialise, opened, read_download
from grader.lms.brightspace import parse_date, with_class_list
from grader.lms.filenames import canvas_original, safe_relative, unique_names
from grader.lms.model import Identity, LmsSubmission, SubmittedFile

DATA = Path(__file__).parent / "data" / "lms"


def who(download: Download) -> dict[str, tuple]:
    """key → (display name, late, anonymous, group, attempt, [names])."""
    return {item.identity.key: (item.identity.display_name, item.identity.late, item.identity.anonymous,
                                item.identity.group, item.identity.attempt, [f.name for f in item.files])
            for item in download.submissions}


def test_canvas_names_ids_late_and_restored_resubmission_names() -> None:
    download = read_download(DATA / "canvas")
    assert download.lms == "canvas" and download.ignored == ()
    assert who(download) == {
        "40101": ("doejane", False, False, "", "", ["docker-compose.yml"]),
        "40102": ("smithjohn", True, False, "", "", ["docker-compose.yml", "app.py", "Dockerfile", "requirements.txt"]),
        "40103": ("garcíaana", False, False, "", "", ["compose.yaml"]),
        "40104": ("leeminho", False, False, "", "", ["text.html"]),
        "40105": ("nguyenbao", False, False, "", "", ["lab3.zip", "screenshot.png"]),
    }
    late = download.submission("40102")
    assert late is not None and late.identity.user_id == "40102"
    assert late.files[0].path == "smithjohn_LATE_40102_900014_docker-compose-1.yml"


def test_canvas_group_and_anonymous_assignments() -> None:
    groups = read_download(DATA / "canvas_groups", groups=True)
    assert {key: (item[3], item[1]) for key, item in who(groups).items()} == {"40110": ("teamblue", False),
                                                                              "40120": ("teamred", True)}
    assert [f.name for f in groups.submission("40110").files] == ["docker-compose.yml", "notes.txt"]
    anonymous = read_download(DATA / "canvas_anonymous")
    identities = {item.identity.participant_id: item.identity for item in anonymous.submissions}
    assert set(identities) == {"Qx7kP", "b3ZtW"}
    assert all(identity.anonymous and identity.user_id == "" for identity in identities.values())
    assert identities["b3ZtW"].late and not identities["Qx7kP"].late


@pytest.mark.parametrize("folder", ["moodle", "moodle_legacy", "moodle_flat"])
def test_moodle_folders_legacy_folders_and_flat_files(folder: str) -> None:
    download = read_download(DATA / folder)
    assert download.lms == "moodle" and download.ignored == ()
    jane = download.submission("1042")
    assert jane is not None and jane.identity.display_name == "Jane Doe" and not jane.identity.anonymous
    expected = {"moodle": ["docker-compose.yml", "web/app.py", "onlinetext.html"],
                "moodle_legacy": ["docker-compose.yml"], "moodle_flat": ["app.py", "docker-compose.yml"]}[folder]
    assert [f.name for f in jane.files] == expected
    assert len(download.submissions) == 2


def test_moodle_blind_marking_and_teams() -> None:
    blind = read_download(DATA / "moodle_blind")
    assert {item.identity.participant_id: (item.identity.display_name, item.identity.anonymous)
            for item in blind.submissions} == {"4021": ("Participant 4021", True), "4022": ("Participant 4022", True)}
    teams = read_download(DATA / "moodle_team", groups=True)
    assert {(i.identity.group, i.identity.group_id) for i in teams.submissions} == {("Team Blue", "12"), ("Default group", "")}
    without_groups = read_download(DATA / "moodle_team")  # the default group has no id: not a student
    assert [item.identity.participant_id for item in without_groups.submissions] == ["12"]
    assert [item.path for item in without_groups.ignored] == ["Default group_assignsubmission_file/compose.yaml"]


def test_blackboard_latest_attempt_wins_and_receipts_name_the_student() -> None:
    download = read_download(DATA / "blackboard")
    jane, kim = download.submission("jdoe"), download.submission("k_lee")
    assert jane is not None and kim is not None
    assert (jane.identity.display_name, jane.identity.attempt) == ("Jane Doe", "2025-03-02T18:30:15")
    assert [(f.path, f.name) for f in jane.files] == [
        ("Compose Lab_jdoe_attempt_2025-03-02-18-30-15_docker-compose.yml", "docker-compose.yml"),
        ("Compose Lab_jdoe_attempt_2025-03-02-18-30-15_notes.txt", "notes.txt")]
    assert [f.path for f in jane.superseded] == ["Compose Lab_jdoe_attempt_2025-03-01-10-15-00_docker-compose.yml"]
    assert (kim.identity.username, kim.identity.display_name) == ("k_lee", "Kim Lee")  # "_" in it: from the receipt
    assert sorted(item.path for item in download.ignored) == sorted(p.name for p in (DATA / "blackboard").glob("*_attempt_????-??-??-??-??-??.txt"))


def test_blackboard_without_receipts_still_reads_names(tmp_path: Path) -> None:
    receipts = set((DATA / "blackboard").glob("*_attempt_????-??-??-??-??-??.txt"))
    for path in set((DATA / "blackboard").iterdir()) - receipts:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    download = read_download(tmp_path)
    jane = download.submission("jdoe")
    assert jane is not None and jane.identity.display_name == "jdoe" and len(jane.files) == 2
    assert download.submission("lee") is not None  # without its receipt "k_lee" splits at its last "_"


@pytest.mark.parametrize("folder,jane_attempt", [("brightspace", "2025-03-02T18:30:00"),
                                                 ("brightspace_folders", "2025-03-01T10:05:00")])
def test_brightspace_names_dates_and_latest_submission(folder: str, jane_attempt: str) -> None:
    download = read_download(DATA / folder)
    assert download.lms == "brightspace" and [item.path for item in download.ignored] == ["index.html"]
    by_name = {item.identity.display_name: item for item in download.submissions}
    assert set(by_name) == {"Jane Doe", "Ana García"}
    assert by_name["Jane Doe"].identity.attempt == jane_attempt
    assert [f.name for f in by_name["Jane Doe"].files] == ["docker-compose.yml"]
    assert len(by_name["Jane Doe"].superseded) == (1 if folder == "brightspace" else 0)
    placed, unplaced = with_class_list(list(download.submissions), (DATA / "brightspace_class_list.csv").read_text())
    assert unplaced == []
    assert {(i.identity.org_defined_id, i.identity.username) for i in placed} == {("20067930", "jdoe"), ("20067931", "agarcia")}


def test_brightspace_dates() -> None:
    assert parse_date("Sep 24, 2024 926 PM") == "2024-09-24T21:26:00"
    assert parse_date("Jan 1, 2025 1200 AM") == "2025-01-01T00:00:00"
    assert parse_date("Feb 30, 2025 1200 PM") == "" and parse_date("Smarch 1, 2025 100 PM") == ""


def test_detection_over_every_download_and_clear_errors(tmp_path: Path) -> None:
    for folder in DATA.iterdir():
        if folder.is_dir() and folder.name != "expected":
            assert read_download(folder, groups=folder.name in ("moodle_team",)).lms == folder.name.split("_")[0]
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(LmsError, match="no file is named as"):
        read_download(tmp_path)
    with pytest.raises(LmsError, match="unknown LMS"):
        read_download(DATA / "canvas", lms="sakai")
    with pytest.raises(LmsError, match="no file is named as Moodle"):
        read_download(DATA / "canvas", lms="moodle")
    with pytest.raises(LmsError, match="not a folder"):
        read_download(DATA / "canvas" / "leeminho_40104_text.html")
    assert detect(["a_1_2_x.yml", "b_3_4_y.yml", "Jane_5_assignsubmission_file/x"]) == "canvas"


def test_a_zip_download_and_a_wrapping_folder(tmp_path: Path) -> None:
    archive = tmp_path / "submissions.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in (DATA / "moodle").rglob("*"):
            if path.is_file():
                zipped.write(path, f"Lab 3-42/{path.relative_to(DATA / 'moodle').as_posix()}")
    with opened(archive) as folder:
        download = read_download(folder)  # the zip's one top folder is looked into
        assert download.lms == "moodle" and len(download.submissions) == 2
        extracted = Path(download.root)
        assert extracted.name == "Lab 3-42" and extracted.is_dir()
    assert not extracted.exists()


def test_serialised_both_ways() -> None:
    for folder in ("canvas", "blackboard", "brightspace"):
        download = read_download(DATA / folder)
        assert Download.from_dict(json.loads(json.dumps(download.to_dict()))) == download
    with pytest.raises(LmsError):
        Identity.from_dict({"lms": "webct", "display_name": "x"})


# Materialised folders ---------------------------------------------------------------------------

def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("folder,key,compose", [
    ("canvas", "40102", "docker-compose.yml"), ("canvas", "40105", "lab3/docker-compose.yml"),
    ("moodle", "1042", "docker-compose.yml"), ("moodle_flat", "1044", "compose.yml"),
    ("blackboard", "jdoe", "docker-compose.yml"), ("brightspace_folders", "ana garcía", "compose.yaml")])
def test_materialised_folder_has_the_compose_file_under_its_original_name(folder: str, key: str, compose: str,
                                                                          tmp_path: Path) -> None:
    before = snapshot(DATA / folder)
    download = read_download(DATA / folder)
    submission = download.submission(key)
    assert submission is not None
    made = materialise(submission, download.root, tmp_path)
    assert made.folder.parent == tmp_path and made.skipped == []
    assert (made.folder / compose).is_file()
    for item in submission.files:
        if not item.name.endswith(".zip"):
            assert (made.folder / item.name).read_bytes() == (Path(download.root) / item.path).read_bytes()
    assert snapshot(DATA / folder) == before  # the download is never written to


def test_materialised_submissions_grade_like_the_samples(tmp_path: Path) -> None:
    download = read_download(DATA / "blackboard")
    made = materialise(download.submission("jdoe"), download.root, tmp_path)
    older = LmsSubmission(download.submission("jdoe").identity, download.submission("jdoe").superseded)
    first = materialise(older, download.root, tmp_path / "first")
    graded, earlier = grader.grade(made.folder, mode="static"), grader.grade(first.folder, mode="static")
    assert graded.check("redis-port").status.value == "passed"
    assert earlier.check("redis-port").status.value == "failed"  # the first attempt had the wrong port


def test_materialise_refuses_to_write_into_the_download_and_skips_links(tmp_path: Path) -> None:
    download = read_download(DATA / "canvas")
    with pytest.raises(LmsError, match="inside the download"):
        materialise(download.submissions[0], download.root, Path(download.root) / "out")
    root = tmp_path / "dl"
    root.mkdir()
    (root / "doejane_1_2_docker-compose.yml").write_text("services: {}\n")
    os.symlink("/etc/passwd", root / "doejane_1_3_passwd")
    read = read_download(root)
    assert [item.path for item in read.ignored] == ["doejane_1_3_passwd"]
    forged = LmsSubmission(read.submissions[0].identity, read.submissions[0].files
                           + (SubmittedFile("doejane_1_3_passwd", "passwd"), SubmittedFile("../../etc/hosts", "hosts")))
    made = materialise(forged, root, tmp_path / "out")
    assert made.written == ["docker-compose.yml"] and len(made.skipped) == 2
    assert not (made.folder / "passwd").exists() and not (made.folder / "hosts").exists()


# Untrusted names --------------------------------------------------------------------------------

@pytest.mark.parametrize("name,safe", [
    ("../../etc/passwd", "etc/passwd"), ("/abs/docker-compose.yml", "abs/docker-compose.yml"),
    ("C:\\Users\\me\\compose.yaml", "Users/me/compose.yaml"), ("..", "file"), ("a/./b//c", "a/b/c"),
    ("docker\u202ecompose.yml", "dockercompose.yml"), ("bad\x00\x1b[31m.yml", "bad[31m.yml"),
    ("e\u0301.txt", "\u00e9.txt"), ("\udcff.yml", "\ufffd.yml"), (" .. /x", "x")])
def test_untrusted_names_stay_inside(name: str, safe: str) -> None:
    assert safe_relative(name) == safe


def test_long_names_keep_their_extension_and_clashes_are_numbered() -> None:
    long = safe_relative("é" * 300 + ".yml")
    assert long.endswith(".yml") and len(long.encode()) <= 255
    assert unique_names(["a.yml", "a.yml", "app", "app/main.py", "b/c", "b"]) == \
        ["a.yml", "a (2).yml", "app", "app (2)/main.py", "b/c", "b (2)"]


@pytest.mark.parametrize("stored,original", [
    ("docker-compose-1.yml", "docker-compose.yml"), ("docker-compose-12.yml", "docker-compose.yml"),
    ("compose-2.yaml", "compose.yaml"), ("Dockerfile-1", "Dockerfile"), ("app-2.tar.gz", "app.tar.gz"),
    ("app.tar-1.gz", "app.tar.gz"), ("docker-compose-1.override.yml", "docker-compose.override.yml"),
    ("redis-7-alpine", "redis-7-alpine"), ("-1.yml", "-1.yml"), ("docker-compose.yml", "docker-compose.yml")])
def test_canvas_resubmission_suffix_is_undone(stored: str, original: str) -> None:
    assert canvas_original(stored) == original


def test_a_restored_name_that_two_files_would_share_keeps_canvas_name(tmp_path: Path) -> None:
    (tmp_path / "doejane_1_2_docker-compose.yml").write_text("a")
    (tmp_path / "doejane_1_3_docker-compose-1.yml").write_text("b")
    names = sorted(f.name for f in read_download(tmp_path).submissions[0].files)
    assert names == ["docker-compose-1.yml", "docker-compose.yml"]



def test_older_canvas_lower_case_late_and_a_second_resubmission(tmp_path: Path) -> None:
    download = tmp_path / "download"
    download.mkdir()
    (download / "doejane_late_40101_900003_docker-compose-2.yml").write_text("services: {}\n")
    (download / "doejane_late_40101_900004_Dockerfile-2").write_text("FROM python:3.11-slim\n")
    [jane] = read_download(download).submissions
    assert (jane.identity.user_id, jane.identity.late, jane.identity.display_name) == ("40101", True, "doejane")
    assert sorted(f.name for f in jane.files) == ["Dockerfile", "docker-compose.yml"]
    made = materialise(jane, download, tmp_path / "work")
    assert (made.folder / "docker-compose.yml").read_text() == "services: {}\n"

def test_a_hostile_download_is_read_and_materialised_inside_its_folder(tmp_path: Path) -> None:
    root = tmp_path / "dl"
    root.mkdir()
    names = ["doejane_1_2_..\\..\\evil.yml", "doejane_1_3_docker\u202e-compose.yml", "doejane_1_4_\x1b[2Jclear.txt",
             "doejane_1_5_docker-compose.yml", "doejane_1_6_e\u0301.txt"]
    for name in names:
        (root / name).write_text(name)
    (root / "doejane_1_7_sub").mkdir()  # a folder where Canvas puts only files
    (root / "doejane_1_7_sub" / "x.yml").write_text("x")
    download = read_download(root)
    files = download.submissions[0].files
    assert sorted(f.name for f in files) == sorted(["evil.yml", "docker-compose.yml", "docker-compose (2).yml",
                                                    "[2Jclear.txt", "\u00e9.txt"])
    assert [item.path for item in download.ignored] == ["doejane_1_7_sub/x.yml"]
    made = materialise(download.submissions[0], download.root, tmp_path / "out")
    assert sorted(made.written) == sorted(f.name for f in files) and made.skipped == []
    assert all(path.resolve().parent == made.folder.resolve() for path in made.folder.iterdir())
    assert (made.folder / "docker-compose.yml").read_text() == "doejane_1_5_docker-compose.yml"  # the real one keeps its name
    with pytest.raises(LmsError, match="neither a folder nor a .zip"), opened(root / names[3]):
        pass
