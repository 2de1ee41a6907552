"""Remembering which Compose CLI is installed, so that a grading does not ask it every time.

`docker compose version` costs a Docker CLI start and a Compose start (about 70 ms), which was a
third of a static grading. The answer is kept in the user's cache folder under a key made of
everything the Docker CLI looks at to find the plugin: the `docker` and `docker-compose`
executables on PATH, and each folder it searches for `cli-plugins/docker-compose` (its
`DOCKER_CONFIG`, or ~/.docker, and the system folders), by path, size, inode and modification
time. Installing, upgrading or swapping any of them (or pointing DOCKER_CONFIG elsewhere, as the
tests do for Compose v5) changes the key and the CLI is asked again.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from grader.user_cache import cache_dir

_SYSTEM_PLUGIN_DIRS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
                       "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
_CACHE_NAME = "compose-cli.json"


def _stat_of(path: str | None) -> list[object]:
    if not path:
        return [None]
    try:
        info = os.stat(path)
    except OSError:
        return [path, None]
    return [path, info.st_size, info.st_ino, info.st_mtime_ns]


def plugin_dirs(env: Mapping[str, str]) -> list[str]:
    """The folders the Docker CLI searches for `docker-compose`, in its order."""
    config = env.get("DOCKER_CONFIG") or str(Path(env.get("HOME") or Path.home()) / ".docker")
    return [str(Path(config) / "cli-plugins"), *_SYSTEM_PLUGIN_DIRS]


def lookup_key(env: Mapping[str, str]) -> str:
    """A digest of everything that decides what `docker compose` runs under ``env``."""
    search_path = env.get("PATH", "")
    config = env.get("DOCKER_CONFIG") or str(Path(env.get("HOME") or Path.home()) / ".docker")
    parts: list[object] = [search_path, env.get("DOCKER_HOST"), env.get("DOCKER_CONTEXT"),
                           _stat_of(shutil.which("docker", path=search_path)),
                           _stat_of(shutil.which("docker-compose", path=search_path)),
                           _stat_of(str(Path(config) / "config.json"))]
    parts += [_stat_of(str(Path(folder) / "docker-compose")) for folder in plugin_dirs(env)]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def remembered(key: str) -> tuple[tuple[str, ...], str] | None:
    """The (command, version) found before under ``key``, if the cache holds it."""
    folder = cache_dir()
    try:
        entry = json.loads((folder / _CACHE_NAME).read_text(encoding="utf-8")).get(key) if folder else None
    except (OSError, ValueError, AttributeError):
        return None
    if isinstance(entry, dict) and isinstance(entry.get("base"), list) and isinstance(entry.get("version"), str):
        return tuple(str(part) for part in entry["base"]), entry["version"]
    return None


def remember(key: str, base: tuple[str, ...], version: str) -> None:
    """Keep (command, version) under ``key``; the cache holds the latest few keys (one per setup)."""
    folder = cache_dir()
    if folder is None:
        return
    path = folder / _CACHE_NAME
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        entries = entries if isinstance(entries, dict) else {}
    except (OSError, ValueError):
        entries = {}
    entries.pop(key, None)
    entries = dict(list(entries.items())[-7:])
    entries[key] = {"base": list(base), "version": version}
    temporary = path.with_name(f".{_CACHE_NAME}.{os.getpid()}")
    try:
        temporary.write_text(json.dumps(entries), encoding="utf-8")
        os.replace(temporary, path)  # atomic: concurrent gradings never read half a file
    except OSError:
        temporary.unlink(missing_ok=True)
