"""Removing what killed gradings left behind (`grader clean`, and every queue worker).

Every resource carries its owner as host:pid. A resource whose owner is a process of this
host that no longer exists (or is a zombie) is an orphan; one of a live process, or of another host or
container (whose processes this one cannot see), is kept unless everything is asked for.
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from pathlib import Path

from grader.docker import commands as docker
from grader.docker.bootfile import LABEL, OWNER_LABEL
from grader.docker.build import CACHE_REPOSITORY
from grader.submission.workspace import process_alive, remove_stale_workspaces

@dataclass
class Cleaned:
    removed: dict[str, list[str]] = field(default_factory=dict)
    kept_elsewhere: int = 0
    folders: list[Path] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.removed.values())


def owner_state(owner: str | None) -> str:
    """'alive', 'dead' (a process of this host that is gone) or 'elsewhere' (another host or container)."""
    host, _, pid = (owner or "").rpartition(":")
    if not pid.isdigit():
        return "elsewhere"  # no owner recorded: not provably orphaned, so only --all removes it
    if host != socket.gethostname():
        return "elsewhere"
    return "alive" if running(int(pid)) else "dead"


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process. A zombie is not: a grading process killed with its
    worker (Celery children die with their parent) may wait unreaped for a while, owning nothing."""
    return process_alive(pid)


def clean(remove_all: bool = False) -> Cleaned:
    """Remove orphaned resources and work folders; with ``remove_all``, every labelled resource."""
    result = Cleaned()

    def keep(labels: dict[str, str]) -> bool:
        if remove_all:
            return False
        state = owner_state(labels.get(OWNER_LABEL))
        result.kept_elsewhere += state == "elsewhere"
        return state != "dead"

    result.removed = docker.remove_labelled(LABEL, keep=keep)
    result.folders = remove_stale_workspaces()
    return result


def remove_build_cache() -> list[str]:
    """Remove the build cache the grader keeps (`compose-grader-cache:*` and the layers under it),
    newest first: a cache image built on another must go before the one it was built on."""
    references = [reference for reference, _ in reversed(docker.images_of(CACHE_REPOSITORY))]
    for reference in references:
        docker.remove("image", [reference])
    return references
