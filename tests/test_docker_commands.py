"""The plain `docker` commands the grader uses instead of Compose's slower ones (issue 12) do what
Compose's would: Compose is the oracle, asked on the same running project, and `docker inspect`
says what the engine did."""
from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.docker import commands as docker

pytestmark = pytest.mark.docker

COMPOSE_FILE = """\
services:
  redis:
    image: redis:alpine
  other:
    image: redis:alpine
    command: ["redis-server", "--port", "6380"]
"""


def compose(project: str, folder: Path, *args: str) -> str:
    done = subprocess.run(["docker", "compose", "-p", project, *args], cwd=folder, capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def state(container: str) -> dict:
    return docker.inspect([container])[0]["State"]


@pytest.fixture
def project(docker_engine: None, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"cmdtest{tmp_path.name[-6:].replace('_', '')}".lower()
    (tmp_path / "compose.yaml").write_text(COMPOSE_FILE)
    try:
        compose(name, tmp_path, "up", "-d")
        yield name, tmp_path
    finally:
        subprocess.run(["docker", "compose", "-p", name, "down", "-v", "-t", "0", "--remove-orphans"], cwd=tmp_path,
                       capture_output=True, timeout=120)


def test_the_project_containers_are_those_compose_ps_lists(project: tuple[str, Path]) -> None:
    name, folder = project
    assert sorted(docker.project_containers(name)) == sorted(compose(name, folder, "ps", "-aq").split())
    assert docker.project_containers(name, "redis") == compose(name, folder, "ps", "-aq", "redis").split()
    assert len(docker.project_containers(name)) == 2
    assert docker.project_containers(f"{name}-none") == []


def test_exec_answers_as_compose_exec_does(project: tuple[str, Path]) -> None:
    name, folder = project
    [redis] = docker.project_containers(name, "redis")
    typed = "PING\nECHO hello\n"
    ours = docker.exec_in(redis, ["redis-cli", "--no-raw"], input_text=typed, timeout=30)
    theirs = subprocess.run(["docker", "compose", "-p", name, "exec", "-T", "redis", "redis-cli", "--no-raw"],
                            cwd=folder, input=typed, capture_output=True, text=True, timeout=60)
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout == theirs.stdout == 'PONG\n"hello"\n'
    missing = docker.exec_in(redis, ["no-such-program"], timeout=30)
    assert missing.returncode in (126, 127) and "executable file not found" in missing.stdout + missing.stderr


def test_copy_start_stop_and_restart_act_on_the_container(project: tuple[str, Path], tmp_path: Path) -> None:
    name, _ = project
    [redis] = docker.project_containers(name, "redis")
    source = tmp_path / "note.txt"
    source.write_text("copied by the grader\n")
    docker.copy_into(redis, str(source), "/data/note.txt")
    assert docker.exec_in(redis, ["cat", "/data/note.txt"], timeout=30).stdout == "copied by the grader\n"
    started = state(redis)["StartedAt"]
    assert docker.restart(redis)
    after = state(redis)
    assert after["Running"] and after["StartedAt"] != started
    assert docker.stop([redis]) and not state(redis)["Running"]
    assert docker.start([redis]) and state(redis)["Running"]
    assert not docker.start(["no-such-container-of-the-grader"])


def test_the_plugin_called_directly_reads_files_as_docker_compose_does(docker_engine: None) -> None:
    from grader.docker.compose import detect_cli, minimal_env

    folder = Path(__file__).resolve().parent.parent / "sample_submissions" / "perfect"
    ours = subprocess.run([*detect_cli().base, "config", "--format", "json"], cwd=folder, capture_output=True,
                          text=True, timeout=60, env=minimal_env())
    theirs = subprocess.run(["docker", "compose", "config", "--format", "json"], cwd=folder, capture_output=True,
                            text=True, timeout=60, env=minimal_env())
    assert ours.returncode == theirs.returncode == 0
    assert ours.stdout == theirs.stdout and '"redis"' in ours.stdout
