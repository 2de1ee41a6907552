"""Building `docker compose` command lines for one project, and finding the Compose CLI."""
from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from grader.docker import cli_cache, runner
from grader.errors import CommandError, ComposeMissing

# Variables Compose and the Docker CLI need to find the engine; nothing else of the
# grader's environment (tokens, secrets) may reach the student's interpolation.
_PASS_THROUGH = (
    "PATH", "HOME", "TMPDIR", "SYSTEMROOT", "XDG_RUNTIME_DIR",
    "DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY", "DOCKER_API_VERSION",
)


def minimal_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {key: os.environ[key] for key in _PASS_THROUGH if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env["LANG"] = "C.UTF-8"
    env["COMPOSE_ANSI"] = "never"
    env["COMPOSE_STATUS_STDOUT"] = "1"
    env["BUILDKIT_PROGRESS"] = "plain"
    if extra:
        env.update(extra)
    return env


@dataclass(frozen=True)
class ComposeCLI:
    """How to invoke Compose here: the v2 plugin, or a standalone `docker-compose`."""

    base: tuple[str, ...]
    version: str

    @property
    def major(self) -> int:
        match = re.match(r"v?(\d+)", self.version)
        return int(match.group(1)) if match else 0


@lru_cache(maxsize=1)
def detect_cli() -> ComposeCLI:
    """Find Compose 2+ (plugin first, then standalone); raise ComposeMissing saying what to install.
    The answer is remembered (``cli_cache``) until anything that decides it changes."""
    key = cli_cache.lookup_key(minimal_env())
    known = cli_cache.remembered(key)
    if known:
        return ComposeCLI(*known)
    cli = _ask_for_cli()
    cli_cache.remember(key, cli.base, cli.version)
    return cli


def _version_of(base: tuple[str, ...]) -> str | None:
    try:
        result = runner.run([*base, "version", "--short"], timeout=20, env=minimal_env())
    except CommandError:
        return None
    return result.stdout.strip().lstrip("v")


def _ask_for_cli() -> ComposeCLI:
    found_old = None
    for base in (("docker", "compose"), ("docker-compose",)):
        version = _version_of(base)
        if version is None:
            continue
        cli = ComposeCLI(base, version)
        if cli.major >= 2:
            return _plugin_itself(cli) if base == ("docker", "compose") else cli
        found_old = cli
    if found_old:
        raise ComposeMissing(
            f"only Compose {found_old.version} (v1) is installed; the grader needs Compose v2 or later. "
            "Install the Docker Compose plugin: https://docs.docker.com/compose/install/"
        )
    raise ComposeMissing(
        "Docker Compose is not installed (neither `docker compose` nor `docker-compose` works). "
        "Install Docker Desktop, or the Docker Compose plugin: https://docs.docker.com/compose/install/"
    )


def _plugin_itself(cli: ComposeCLI) -> ComposeCLI:
    """The plugin `docker compose` runs, called directly: the same Compose, without a Docker CLI
    start and its plugin scan in front of it (about 70 ms of every Compose command). It is the
    first `docker-compose` in the folders the Docker CLI searches, in its order, and only when it
    says it is the version `docker compose` said; otherwise `docker compose` it stays."""
    env = minimal_env()
    for folder in cli_cache.plugin_dirs(env):
        binary = os.path.join(folder, "docker-compose")
        if os.access(binary, os.X_OK) and os.path.isfile(binary):
            return ComposeCLI((binary,), cli.version) if _version_of((binary,)) == cli.version else cli
    return cli


@dataclass(frozen=True)
class ComposeProject:
    """One Compose project: its name, folder and files, and the environment Compose sees."""

    cli: ComposeCLI
    name: str | None          # None: Compose's own default, as for the student's stack
    project_dir: Path
    files: tuple[Path, ...]
    env: Mapping[str, str] = field(default_factory=minimal_env)
    profiles: tuple[str, ...] = ()     # ("*",): every service, whatever its profiles
    env_file: Path | None = None       # instead of the project folder's .env

    def argv(self, *args: str) -> list[str]:
        options: list[str] = ["-p", self.name] if self.name else []
        options += ["--project-directory", str(self.project_dir)]
        for path in self.files:
            options += ["-f", str(path)]
        for profile in self.profiles:
            options += ["--profile", profile]
        if self.env_file is not None:
            options += ["--env-file", str(self.env_file)]
        return [*self.cli.base, *options, *args]

    def run(self, *args: str, timeout: float, check: bool = True, input_text: str | None = None,
            max_output_bytes: int = runner.MAX_OUTPUT_BYTES,
            meanwhile: Callable[[], None] | None = None) -> runner.Completed:
        return runner.run(self.argv(*args), timeout=timeout, env=self.env, cwd=self.project_dir, check=check,
                          input_text=input_text, max_output_bytes=max_output_bytes, meanwhile=meanwhile)

    def config(self, timeout: float = 30, meanwhile: Callable[[], None] | None = None) -> dict[str, Any]:
        """The normalised model, exactly as Compose understands the files (``meanwhile``: see runner.run)."""
        result = self.run("config", "--format", "json", timeout=timeout, meanwhile=meanwhile)
        return json.loads(result.stdout)

    def with_files(self, files: Sequence[Path], *, env_file: Path | None = None) -> ComposeProject:
        """The same project on other files (the boot file), with no profiles: it holds only what runs."""
        return ComposeProject(self.cli, self.name, self.project_dir, tuple(files), self.env, (), env_file)
