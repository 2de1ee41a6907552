"""Runs last (file order): after the whole suite, nothing the grader created may remain.

Every volume counts, not only labelled ones: redis:alpine declares VOLUME /data, and the
anonymous volumes Docker makes for it carry no label.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from grader.submission.workspace import WORKSPACE_PREFIX
from tests.conftest import BASELINE, GRADER_LABEL, TEMP_BASELINE, docker_lines, snapshot

# What the grader, its container and the benchmarks name in the temp folder.
GRADER_TEMP_NAMES = (WORKSPACE_PREFIX, "grader-empty-", "compose-grader", "bench-")


def test_nothing_with_the_grader_label_remains(docker_engine, request: pytest.FixtureRequest) -> None:
    for kind in (("ps", "-aq"), ("volume", "ls", "-q"), ("network", "ls", "-q"), ("image", "ls", "-q")):
        left = docker_lines(*kind, "--filter", f"label={GRADER_LABEL}")
        assert not left, f"{kind[0]}: {left} still carry the grader label"


def test_no_resource_was_added_by_the_suite(docker_engine, request: pytest.FixtureRequest) -> None:
    baseline = request.config.stash.get(BASELINE, None)
    if baseline is None:
        pytest.skip("no baseline: the engine was not reachable when the suite started")
    now = snapshot()
    for kind in ("containers", "volumes", "networks"):
        added = now[kind] - baseline[kind]
        assert not added, f"the suite left {len(added)} {kind}: {sorted(added)[:5]}"
    added_images = now["images"] - baseline["images"] - build_cache_layers()
    assert not added_images, f"the suite left images: {sorted(added_images)[:5]}"


def test_no_temp_folder_of_the_grader_was_added_by_the_suite(request: pytest.FixtureRequest) -> None:
    """Workspaces, archive and LMS copies, the container's shared work folder: all gone (pytest's own
    tmp_path folders are pytest's to keep)."""
    added = set(os.listdir(tempfile.gettempdir())) - request.config.stash.get(TEMP_BASELINE, set())
    left = sorted(name for name in added if name.startswith(GRADER_TEMP_NAMES))
    assert not left, f"the suite left in {tempfile.gettempdir()}: {left[:5]}"


def build_cache_layers() -> set[str]:
    """The grader's build cache: compose-grader-cache:* images and the layers under them, kept
    on purpose for later builds (`grader clean --build-cache` removes them)."""
    layers: set[str] = set()
    for reference in docker_lines("image", "ls", "compose-grader-cache", "--format", "{{.Repository}}:{{.Tag}}"):
        layers |= {layer[:12] for layer in docker_lines("history", "-q", reference) if layer != "<missing>"}
    return layers


def test_grader_clean_removes_the_build_cache(docker_engine, request: pytest.FixtureRequest) -> None:
    """Runs after the leak checks: the cache the suite built goes, with every layer under it, so
    the engine holds exactly the images it held before the suite."""
    baseline = request.config.stash.get(BASELINE, None)
    if baseline is None:
        pytest.skip("no baseline: the engine was not reachable when the suite started")
    done = subprocess.run([sys.executable, "-m", "grader.cli", "clean", "--build-cache"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "build cache image(s) removed" in done.stdout
    assert not build_cache_layers()
    assert not snapshot()["images"] - baseline["images"], "layers of the build cache are still there"
