"""`clean` removes only what belongs to gradings that are gone, images included."""
from __future__ import annotations

import os
import socket
import subprocess
import time

import pytest

from grader.docker import cleanup
from grader.docker import commands as docker
from grader.docker.bootfile import LABEL, OWNER_LABEL, RUN_LABEL

pytestmark = pytest.mark.docker


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def build_labelled_image(tag: str, owner: str) -> str:
    dockerfile = f'FROM redis:alpine\nLABEL {LABEL}="1" {RUN_LABEL}="test" {OWNER_LABEL}="{owner}"\n'
    subprocess.run(["docker", "build", "-q", "-t", tag, "-"], input=dockerfile, text=True, check=True,
                   capture_output=True)
    return tag


def test_images_of_live_gradings_are_kept_and_of_dead_ones_removed(docker_engine) -> None:
    host = socket.gethostname()
    live = build_labelled_image("grader-cleanup-live:test", f"{host}:{os.getpid()}")
    dead = build_labelled_image("grader-cleanup-dead:test", f"{host}:{dead_pid()}")
    other = build_labelled_image("grader-cleanup-other:test", "some-other-host:1")
    try:
        assert docker.labelled("image", LABEL), "image labels must be readable"
        cleanup.clean()
        remaining = {tag for info in docker.inspect(docker.ids_with_label("image", LABEL), "image")
                     for tag in info.get("RepoTags") or []}
        assert live in remaining and other in remaining
        assert dead not in remaining
    finally:
        subprocess.run(["docker", "image", "rm", "-f", live, dead, other], capture_output=True)


def test_owner_states() -> None:
    host = socket.gethostname()
    assert cleanup.owner_state(f"{host}:{os.getpid()}") == "alive"
    assert cleanup.owner_state(f"{host}:{dead_pid()}") == "dead"
    assert cleanup.owner_state("elsewhere:123") == "elsewhere"
    assert cleanup.owner_state(None) == "elsewhere"


def test_a_zombie_owns_nothing() -> None:
    """A grading process killed with its worker may stay an unreaped zombie; its stack is an orphan."""
    zombie = subprocess.Popen(["true"])
    try:
        deadline = time.monotonic() + 10
        while open(f"/proc/{zombie.pid}/stat").read().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "`true` never exited"
            time.sleep(0.01)
        assert cleanup.owner_state(f"{socket.gethostname()}:{zombie.pid}") == "dead"
    finally:
        zombie.wait()
