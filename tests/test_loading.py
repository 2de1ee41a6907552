"""Loading a submission with the real `docker compose config` (no engine needed) and mapping its errors."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.docker.compose import ComposeCLI, ComposeProject, detect_cli
from grader.errors import CommandFailed, ComposeLoadError
from grader.grading.loading import compose_error, load_files, normalised_model
from grader.submission.model import ComposeModel
from grader.results import Location
from grader.submission.workspace import workspace

REPO = Path(__file__).resolve().parents[1]


def _compose_works() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


needs_compose = pytest.mark.skipif(not _compose_works(), reason="`docker compose version` fails here")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(source: Path) -> tuple[ComposeModel | None, ComposeLoadError | None, str]:
    """Load like the engine does; return (model, error, workspace root as text)."""
    with workspace(source) as ws:
        try:
            files = load_files(ws)
            project = ComposeProject(detect_cli(), "grader-loadtest", ws.project_dir, tuple(files.files),
                                     profiles=("*",))
            return normalised_model(project, files, ws), None, str(ws.root)
        except ComposeLoadError as exc:
            return None, exc, str(ws.root)


def assert_no_temp_path(error: ComposeLoadError, root: str) -> None:
    text = " ".join(filter(None, [error.message, error.hint, str(error.location or "")]))
    assert root not in text
    assert "grader-ws-" not in text


VALID = """\
services:
  redis:
    image: "redis:${REDIS_TAG}"
    ports:
      - "${REDIS_PORT}:6379"
    volumes:
      - redis_data:/data
volumes:
  redis_data:
"""


@needs_compose
def test_valid_file_with_env_interpolation(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", VALID)
    write(source / ".env", "REDIS_TAG=7-alpine\nREDIS_PORT=6380\n")
    model, error, _ = load(source)
    assert error is None and model is not None
    redis = model.services["redis"]
    assert redis["image"] == "redis:7-alpine"
    assert [(p["target"], str(p["published"])) for p in redis["ports"]] == [(6379, "6380")]
    assert model.top_level_volumes.keys() == {"redis_data"}
    assert model.redis_service() == "redis"
    assert model.locate("redis", "image") == Location("compose.yaml", 3)


@needs_compose
def test_graders_own_environment_never_reaches_interpolation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_TEST_SECRET_TOKEN", "s3cret-value")
    source = tmp_path / "s"
    write(source / "compose.yaml", """\
        services:
          redis:
            image: redis:alpine
            environment:
              LEAK: "${GRADER_TEST_SECRET_TOKEN:-not-set}"
        """)
    model, error, _ = load(source)
    assert error is None and model is not None
    assert model.services["redis"]["environment"]["LEAK"] == "not-set"


@needs_compose
def test_override_file_is_merged(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis:alpine\n")
    write(source / "compose.override.yaml", "services:\n  redis:\n    ports:\n      - '6381:6379'\n")
    model, error, _ = load(source)
    assert error is None and model is not None
    assert [d.display_name for d in model.documents] == ["compose.yaml", "compose.override.yaml"]
    assert str(model.services["redis"]["ports"][0]["published"]) == "6381"
    assert model.locate("redis", "ports") == Location("compose.override.yaml", 3)


@needs_compose
def test_invalid_key_maps_to_message_and_location(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "docker-compose.yml", """\
        services:
          redis:
            imagee: redis:alpine
            ports:
              - "6379:6379"
        """)
    model, error, root = load(source)
    assert model is None and error is not None
    assert error.message.startswith("Docker Compose rejects the file:")
    assert "imagee" in error.message
    assert error.location is not None
    assert error.location.file == "docker-compose.yml"
    assert error.location.line in (2, 3)  # the service, or the bad key itself
    assert "docker compose config" in (error.hint or "")
    assert_no_temp_path(error, root)


@needs_compose
def test_invalid_key_points_at_the_key_itself(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    imagee: redis:alpine\n")
    _, error, _ = load(source)
    assert error is not None and error.location == Location("compose.yaml", 3)


@needs_compose
def test_wrong_type_is_located_at_its_key(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis:alpine\n    ports: 6379\n")
    _, error, root = load(source)
    assert error is not None
    assert "services.redis.ports" in error.message
    assert error.location == Location("compose.yaml", 4)
    assert_no_temp_path(error, root)


@needs_compose
def test_nested_folder_locations_use_the_students_path(tmp_path: Path) -> None:
    source = tmp_path / "zip"
    write(source / "my-redis" / "compose.yaml", "services:\n  redis:\n    image: redis\n    ports: 6379\n")
    _, error, root = load(source)
    assert error is not None
    assert error.location == Location("my-redis/compose.yaml", 4)
    assert_no_temp_path(error, root)


@needs_compose
@pytest.mark.parametrize("folder", [".", "inner"])
@pytest.mark.parametrize("text, fragment", [
    ("services:\n  redis:\n    image: redis\n    env_file: missing.env\n", "missing.env"),
    ("services:\n  redis:\n    extends:\n      file: base.yaml\n      service: redis\n", "base.yaml"),
    ("services:\n  redis:\n    image: redis\n    imagee: x\n", "imagee"),
    ('version: "3.8"\nservices:\n  redis:\n    image: redis\n    depends_on: [web]\n', "web"),
    ("services:\n  redis:\n    image: redis\n    environment:\n      A: ${NEEDED:?set NEEDED in .env}\n", "NEEDED"),
])
def test_temp_path_never_appears_in_messages(tmp_path: Path, folder: str, text: str, fragment: str) -> None:
    source = tmp_path / "s"
    write(source / folder / "compose.yaml", text)
    _, error, root = load(source)
    assert error is not None
    assert fragment in error.message
    assert "level=warning" not in error.message
    assert_no_temp_path(error, root)


@needs_compose
def test_a_path_outside_the_submission_is_refused_in_the_students_words_and_never_read(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis\n    env_file: ../secrets.env\n")
    write(tmp_path / "secrets.env", "STOLEN=yes\n")
    model, error, root = load(source)
    assert error is None and model is not None
    assert "environment" not in model.services["redis"]  # Compose was never given the file
    with workspace(source) as ws:
        refusal, = load_files(ws).refusals
        root = str(ws.root)
    assert refusal.rule == "file-outside" and refusal.location == Location("compose.yaml", 4)
    assert "../secrets.env" in refusal.message  # as the student would write it
    assert root not in refusal.message and "grader-ws-" not in refusal.message


def test_missing_compose_file_is_a_load_error(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "docker_compose.yml", "services: {}\n")
    with workspace(source) as ws:
        with pytest.raises(ComposeLoadError) as info:
            load_files(ws).documents
    assert "No Compose file found" in info.value.message
    assert "docker_compose.yml" in info.value.message


def test_load_documents_reads_main_then_override(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "app" / "docker-compose.yml", "services:\n  redis:\n    image: redis\n")
    write(source / "app" / "docker-compose.override.yml", "services:\n  redis:\n    ports: ['1:1']\n")
    with workspace(source) as ws:
        documents = load_files(ws).documents
        assert [d.display_name for d in documents] == ["app/docker-compose.yml", "app/docker-compose.override.yml"]
        assert [d.path for d in documents] == [ws.compose_file, ws.override_file]


def test_unsafe_yaml_is_refused_before_compose_runs(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis\n    image: redis:alpine\n")
    with workspace(source) as ws:
        with pytest.raises(ComposeLoadError) as info:
            load_files(ws).documents
    assert info.value.location == Location("compose.yaml", 4)


# compose_error without the CLI ----------------------------------------------------------


def _documents_and_error(tmp_path: Path, stderr_template: str):
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis\n    volumes:\n      - data:/data\n")
    ws_cm = workspace(source)
    ws = ws_cm.__enter__()
    files = load_files(ws)
    stderr = stderr_template.format(dir=ws.project_dir)
    return ws_cm, ws, files, CommandFailed("x", ["docker", "compose"], 1, "", stderr)


@pytest.mark.parametrize("stderr, message, line", [
    ("validating {dir}/compose.yaml: services.redis.volumes.0 must be a string\n",
     "services.redis.volumes.0 must be a string", 4),
    ('time="2024" level=warning msg="{dir}/compose.yaml: `version` is obsolete"\n'
     "error while interpolating services.redis.image: invalid\n",
     "while interpolating services.redis.image: invalid", 3),
    # a line of the grader's written file, mapped back to the student's (written line 5 holds `volumes:`)
    ("yaml: line 5: mapping values are not allowed in this context\n", "yaml: line 5: mapping values", 4),
    ("service \"redis\" refers to undefined volume data: invalid compose project\n",
     "service \"redis\" refers to undefined volume data", 4),
    ("", "x", None),
])
def test_compose_error_mapping(tmp_path: Path, stderr: str, message: str, line: int | None) -> None:
    ws_cm, ws, documents, exc = _documents_and_error(tmp_path, stderr)
    try:
        error = compose_error(exc, documents, ws)  # documents: the ProjectFiles
        assert error.message.startswith("Docker Compose rejects the file: ")
        assert message in error.message
        assert "level=warning" not in error.message
        assert str(ws.root) not in error.message
        assert error.location == (Location("compose.yaml", line) if line else None)
    finally:
        ws_cm.__exit__(None, None, None)


def test_unexpected_config_output_is_a_load_error(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis\n")
    fake = ComposeCLI(("sh", "-c", "echo 'not json'", "fake-compose"), "2.99.0")
    with workspace(source) as ws:
        files = load_files(ws)
        project = ComposeProject(fake, "grader-fake", ws.project_dir, (ws.compose_file,))
        with pytest.raises(ComposeLoadError, match="printed something unexpected"):
            normalised_model(project, files, ws)


def test_failing_cli_output_becomes_the_message(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis\n")
    script = 'echo "validating $PWD/compose.yaml: services.redis.image must be a string" >&2; exit 15'
    fake = ComposeCLI(("sh", "-c", script, "fake-compose"), "2.99.0")
    with workspace(source) as ws:
        files = load_files(ws)
        project = ComposeProject(fake, "grader-fake", ws.project_dir, (ws.compose_file,))
        with pytest.raises(ComposeLoadError) as info:
            normalised_model(project, files, ws)
        root = str(ws.root)
    assert info.value.message == "Docker Compose rejects the file: compose.yaml: services.redis.image must be a string"
    assert info.value.location == Location("compose.yaml", 3)
    assert root not in info.value.message


_DEV_ZERO_SCRIPT = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (768 * 1024 * 1024, 768 * 1024 * 1024))
    from pathlib import Path
    from grader.errors import ComposeLoadError
    from grader.grading.loading import load_files
    from grader.submission.workspace import workspace
    try:
        with workspace(Path(sys.argv[1])) as ws:
            load_files(ws).documents
    except ComposeLoadError as exc:
        print("ComposeLoadError:", exc)
    except BaseException as exc:
        print("ESCAPED:", type(exc).__name__)
    else:
        print("LOADED")
""")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_compose_file_linked_to_an_endless_device_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "s"
    source.mkdir()
    (source / "compose.yaml").symlink_to("/dev/zero")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", _DEV_ZERO_SCRIPT, str(source)], capture_output=True, text=True, check=False,
                          timeout=60, cwd=REPO)
    assert done.stdout.startswith("ComposeLoadError"), done.stdout + done.stderr
    assert "/dev/zero" in done.stdout and "outside the submission" in done.stdout
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("target", ["/etc/hostname", "../outside.yaml"])
def test_compose_file_linked_outside_is_refused(tmp_path: Path, target: str) -> None:
    write(tmp_path / "outside.yaml", "services:\n  stolen:\n    image: x\n")
    source = tmp_path / "s"
    source.mkdir()
    (source / "compose.yaml").symlink_to(target)
    with workspace(source) as ws:
        with pytest.raises(ComposeLoadError) as info:
            load_files(ws).documents
        root = str(ws.root)
    assert "compose.yaml is a symbolic link" in info.value.message
    assert root not in info.value.message
    assert info.value.hint


def test_override_linked_outside_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "compose.yaml", "services:\n  redis:\n    image: redis\n")
    (source / "compose.override.yaml").symlink_to("/etc/hostname")
    with workspace(source) as ws:
        assert ws.override_file is not None
        with pytest.raises(ComposeLoadError, match="compose.override.yaml is a symbolic link"):
            load_files(ws).documents


def test_compose_file_linked_inside_the_submission_is_read(tmp_path: Path) -> None:
    source = tmp_path / "s"
    write(source / "files" / "redis.yml", "services:\n  redis:\n    image: redis:alpine\n")
    (source / "compose.yaml").symlink_to("files/redis.yml")
    with workspace(source) as ws:
        documents = load_files(ws).documents
    assert documents[0].display_name == "compose.yaml"
    assert documents[0].data["services"]["redis"]["image"] == "redis:alpine"
