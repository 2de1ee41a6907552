"""Grading from inside a container (docker-compose.grader.yml).

There, 127.0.0.1 is the grader's own container, not the host, so published ports cannot
be reached. The grader joins each network of the stack it booted and reaches services at
their container address and port instead, and leaves those networks before they are
removed. Student bind mounts resolve on the host, so the work folder must be shared with
the host at the same path (TMPDIR, set in docker-compose.grader.yml).
"""
from __future__ import annotations

import os
from pathlib import Path

from grader.docker import commands as docker

ENV_FLAG = "GRADER_IN_CONTAINER"
ENV_ID = "GRADER_CONTAINER_ID"


def own_container_id() -> str | None:
    """This process's container, when it runs in one that the engine knows; else None."""
    if os.environ.get(ENV_FLAG, "") in ("", "0") and not Path("/.dockerenv").exists():
        return None
    candidate = os.environ.get(ENV_ID) or os.environ.get("HOSTNAME") or ""
    if not candidate:
        return None
    found = docker.inspect([candidate])
    return found[0]["Id"] if found else None


def attach(container_id: str, networks: list[str]) -> list[str]:
    """Join the stack's networks; return those joined (to leave them later)."""
    joined = []
    for network in networks:
        if docker.connect_network(network, container_id):
            joined.append(network)
    return joined


def detach(container_id: str, networks: list[str]) -> None:
    for network in networks:
        docker.disconnect_network(network, container_id)
