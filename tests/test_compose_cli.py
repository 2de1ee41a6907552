"""Finding Compose: the v2 plugin, else a standalone docker-compose v2+, else a clear message.

Fake `docker` / `docker-compose` scripts on PATH stand in for installations this machine
does not have (v1 only, standalone only, none); the real plugin is tested everywhere else.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from grader.docker import compose
from grader.errors import ComposeMissing


def fake(folder: Path, name: str, version: str | None) -> None:
    script = folder / name
    body = f'echo "{version}"' if version else "exit 1"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)


@pytest.fixture
def path_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def _set(**versions: str | None) -> None:
        for name, version in versions.items():
            fake(tmp_path, name.replace("_", "-"), version)
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        compose.detect_cli.cache_clear()

    yield _set
    compose.detect_cli.cache_clear()


def test_plugin_is_preferred(path_with) -> None:
    path_with(docker="v2.99.1", docker_compose="2.1.0")  # a version no installed plugin has
    cli = compose.detect_cli()
    assert cli.base == ("docker", "compose") and cli.major == 2


def test_the_plugin_docker_would_run_is_called_directly(path_with, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = tmp_path / "config" / "cli-plugins"
    plugins.mkdir(parents=True)
    fake(plugins, "docker-compose", "v2.99.1")
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    path_with(docker="v2.99.1")
    cli = compose.detect_cli()
    assert cli.base == (str(plugins / "docker-compose"),) and cli.version == "2.99.1"


def test_a_plugin_that_is_not_what_docker_runs_is_not_used(path_with, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    plugins = tmp_path / "config" / "cli-plugins"
    plugins.mkdir(parents=True)
    fake(plugins, "docker-compose", "v2.98.0")  # `docker compose` says another version: docker runs another
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    path_with(docker="v2.99.1")
    assert compose.detect_cli().base == ("docker", "compose")


def test_falls_back_to_standalone_v2(path_with) -> None:
    path_with(docker=None, docker_compose="2.24.6")
    cli = compose.detect_cli()
    assert cli.base == ("docker-compose",) and cli.version == "2.24.6"


def test_later_majors_are_accepted(path_with) -> None:
    path_with(docker="v3.0.1")
    assert compose.detect_cli().major == 3


def test_v1_only_is_refused_with_a_clear_message(path_with) -> None:
    path_with(docker=None, docker_compose="1.29.2")
    with pytest.raises(ComposeMissing, match=r"only Compose 1\.29\.2 \(v1\).*v2"):
        compose.detect_cli()


def test_nothing_installed_says_what_to_install(path_with) -> None:
    path_with()
    with pytest.raises(ComposeMissing, match="not installed.*Install"):
        compose.detect_cli()


def test_real_compose_is_found() -> None:
    compose.detect_cli.cache_clear()
    try:
        cli = compose.detect_cli()
    except ComposeMissing:
        pytest.skip("no Compose on this machine")
    assert cli.major >= 2
    if cli.base != ("docker", "compose"):  # the plugin called directly: it is what `docker compose` runs
        done = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, timeout=30)
        assert done.stdout.strip().lstrip("v") == cli.version
        assert cli.base[0].endswith("cli-plugins/docker-compose")


def counting_docker(folder: Path, version: str) -> Path:
    """A fake `docker` that answers ``version`` and appends a line to ``calls`` each time it runs."""
    script = folder / "docker"
    script.write_text(f'#!/bin/sh\necho run >> "{folder}/calls"\necho "{version}"\n')
    script.chmod(0o755)
    return folder / "calls"


def test_the_answer_is_remembered_until_the_installation_changes(path_with, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path_with()
    calls = counting_docker(tmp_path, "v2.40.3")
    plugins = tmp_path / "config" / "cli-plugins"
    plugins.mkdir(parents=True)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "config"))
    for _ in range(3):
        compose.detect_cli.cache_clear()
        assert compose.detect_cli().version == "2.40.3"
    assert calls.read_text().count("run") == 1  # asked once, then read from the cache folder
    assert (tmp_path / "cache" / "compose-grader" / "compose-cli.json").is_file()
    (plugins / "docker-compose").write_text("#!/bin/sh\n")  # a plugin installed where docker looks
    compose.detect_cli.cache_clear()
    counting_docker(tmp_path, "v5.6.1")
    assert compose.detect_cli().version == "5.6.1" and calls.read_text().count("run") == 2
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "elsewhere"))  # another config folder: asked again
    compose.detect_cli.cache_clear()
    compose.detect_cli()
    assert calls.read_text().count("run") == 3


def test_an_unusable_cache_folder_only_costs_the_question(path_with, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    path_with()
    calls = counting_docker(tmp_path, "v2.40.3")
    (tmp_path / "not-a-folder").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    for _ in range(2):
        compose.detect_cli.cache_clear()
        assert compose.detect_cli().version == "2.40.3"
    assert calls.read_text().count("run") == 2
