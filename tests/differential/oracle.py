"""The rubric's verdict on a folder, computed from what Compose itself makes of it.

Compose is asked exactly as a student would ask it: `docker compose config --format json` run
in the folder (Compose's own file discovery, override file and `.env`), with an empty
environment. The static checks are then read off Compose's normalised JSON, following the
rubric as README.md ("The default rubric" and the paragraph under it) and docs/rubric.md
state it. Image references are judged by Docker's reference grammar (``imageref``).

Readings this oracle had to decide, where the rubric does not say:

* compose-file passes exactly when `config` exits 0; when it fails, redis-image, redis-port and
  named-volume are ``skipped`` (they need the Compose file). Without a Redis service they are
  ``failed``, not skipped: "no Redis port is published" is a judgement, not an inability to judge.
* The Redis service is `redis` when Compose lists one; otherwise the first service, in the order
  the student wrote them, whose image names a Redis repository. For that choice an image is
  read leniently (trimmed, lowercased, tag and digest dropped, last path component `redis`), so
  that `REDIS:ALPINE` or `bitnami/redis` is still the service the student meant as Redis and
  its ports and volume are graded; whether the reference is acceptable is redis-image's job.
  Services of an included file stand where the `include:` is, i.e. before the main file's own.
* A service under a profile that is not active is not part of the project (Compose leaves it
  out of `config`), so it is not the Redis service: with no other, the three checks fail.
  A profile activated by `COMPOSE_PROFILES` in `.env` is active.
* redis-image passes for Docker Hub's official `library/redis` (any spelling Docker normalises
  to it: `docker.io/`, `index.docker.io/`, `library/`) with tag `alpine` or a version-pinned
  alpine tag (`7-alpine`, `7.2-alpine3.19`, `7.2.4-alpine`, `alpine3.19`); tags compare case-
  sensitively, as registries do (`redis:Alpine` fails). A well-formed digest next to an accepted
  tag passes; a digest without a tag fails (nothing says it is the alpine variant). Another
  registry (`localhost:5000/redis`, `Docker.io/...`) fails: it is not the official image.
  Whatever Docker's grammar rejects fails (case, whitespace, newline, short digests).
* redis-port passes when some port entry has target 6379, protocol tcp and a published value
  that is one number equal to 6379: any host IP, any mode, leading zeros allowed (the engine
  publishes `"06379"` as 6379). A host range (`6379-6381:6379`) fails: the engine picks the port.
* named-volume passes when the first mount whose target is /data (trailing slash ignored) is
  of type volume with a source declared under the top-level `volumes:` (external or with a
  `name:` counts as declared). A read-only mount passes: the rubric asks for the mount, and
  whether Redis can write is the persistence check's business at runtime.
"""
from __future__ import annotations

import json
import os
import posixpath
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.differential import imageref

STATIC_CHECKS = ("compose-file", "redis-image", "redis-port", "named-volume")
ALPINE_TAG = re.compile(r"(?:\d+(?:\.\d+){0,2}-)?alpine(?:\d+(?:\.\d+)*)?")
REDIS_PORT = 6379
DATA = "/data"


@dataclass(frozen=True)
class ComposeVerdict:
    accepted: bool
    config: dict[str, Any] | None
    error: str        # what Compose said when it refused (its last lines)

    def summary(self) -> str:
        if not self.accepted:
            return f"refused: {self.error}"
        return "accepted; services: " + (", ".join(sorted((self.config or {}).get("services") or {})) or "none")


@dataclass(frozen=True)
class Expected:
    status: str       # passed / failed / skipped
    why: str


def compose_config(folder: Path, timeout: float = 60) -> ComposeVerdict:
    """`docker compose config --format json` in ``folder``, as the student would run it."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    if "DOCKER_CONFIG" in os.environ:  # which Compose plugin (v2 or v5) the suite runs with
        env["DOCKER_CONFIG"] = os.environ["DOCKER_CONFIG"]
    result = subprocess.run(["docker", "compose", "config", "--format", "json"], cwd=folder, env=env,
                            capture_output=True, text=True, errors="replace", timeout=timeout, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip() and "level=warning" not in line]
        return ComposeVerdict(False, None, " | ".join(lines[-3:]) or f"exit status {result.returncode}")
    return ComposeVerdict(True, json.loads(result.stdout), "")


# Choosing the Redis service ---------------------------------------------------------------------

def names_redis(image: Any) -> bool:
    """The image names a Redis repository, read leniently (see the module docstring)."""
    if not isinstance(image, str):
        return False
    text = image.strip().lower().split("@", 1)[0]
    last = text.rsplit("/", 1)[-1]
    return last.split(":", 1)[0] == "redis"


def redis_service(config: dict[str, Any], order: list[str]) -> str | None:
    services = config.get("services") or {}
    if "redis" in services:
        return "redis"
    ordered = [name for name in order if name in services] + sorted(set(services) - set(order))
    return next((name for name in ordered if names_redis(services[name].get("image"))), None)


# The three static checks on the Redis service ---------------------------------------------------

def judge_image(image: Any) -> Expected:
    if not isinstance(image, str) or not image:
        return Expected("failed", "the Redis service has no image")
    image = image.replace("$$", "$")  # `config` writes a literal `$` escaped, as a Compose file would
    try:
        ref = imageref.parse(image)
    except imageref.InvalidReference as exc:
        return Expected("failed", f"Docker cannot use {image!r}: {exc}")
    if (ref.domain, ref.path) != (imageref.HUB, "library/redis"):
        return Expected("failed", f"{image!r} is {ref.domain}/{ref.path}, not Docker Hub's library/redis")
    if ref.tag is None and ref.digest:
        return Expected("failed", f"{image!r} has a digest but no tag: not known to be the alpine variant")
    tag = ref.tag or "latest"
    if ALPINE_TAG.fullmatch(tag):
        return Expected("passed", f"{image!r} is library/redis with alpine tag {tag!r}")
    return Expected("failed", f"{image!r} has tag {tag!r}, not an alpine one")


def _published_is(value: Any, port: int) -> bool:
    text = str(value if value is not None else "")
    return text.isdigit() and int(text) == port


def judge_ports(service: dict[str, Any]) -> Expected:
    ports = [p for p in service.get("ports") or [] if isinstance(p, dict)]
    for port in ports:
        if str(port.get("target")) == str(REDIS_PORT) and port.get("protocol", "tcp") == "tcp" \
                and _published_is(port.get("published"), REDIS_PORT):
            return Expected("passed", f"publishes {port.get('published')}->{REDIS_PORT}/tcp")
    shown = ", ".join(f"{p.get('published', '')}->{p.get('target')}/{p.get('protocol', 'tcp')}" for p in ports)
    return Expected("failed", f"no tcp {REDIS_PORT}->{REDIS_PORT} mapping (ports: {shown or 'none'})")


def _target(mount: dict[str, Any]) -> str:
    target = str(mount.get("target", ""))
    return posixpath.normpath(target) if target.startswith("/") else target


def judge_volume(service: dict[str, Any], top_level: dict[str, Any]) -> Expected:
    mounts = [m for m in service.get("volumes") or [] if isinstance(m, dict)]
    at_data = [m for m in mounts if _target(m) == DATA]
    if not at_data:
        shown = ", ".join(f"{m.get('type')} {m.get('source', '')} at {m.get('target')}" for m in mounts)
        return Expected("failed", f"nothing mounted at {DATA} ({shown or 'no mounts'})")
    mount = at_data[0]
    source = mount.get("source")
    if mount.get("type") != "volume" or not source:
        return Expected("failed", f"{DATA} is a {mount.get('type')} mount{'' if source else ' without a name'}")
    if source not in top_level:
        return Expected("failed", f"volume {source!r} is not declared at the top level")
    return Expected("passed", f"named volume {source!r} at {DATA}")


def expected_statuses(verdict: ComposeVerdict, service_order: list[str]) -> dict[str, Expected]:
    """What the rubric says about each static check, given Compose's verdict on the folder."""
    if not verdict.accepted or verdict.config is None:
        skipped = Expected("skipped", "the Compose file could not be loaded")
        return {"compose-file": Expected("failed", f"Compose refuses the folder: {verdict.error}"),
                **{check: skipped for check in STATIC_CHECKS[1:]}}
    config = verdict.config
    accepted = Expected("passed", "docker compose config accepts the folder")
    name = redis_service(config, service_order)
    if name is None:
        none = Expected("failed", "no active service is named redis or uses a Redis image")
        return {"compose-file": accepted, "redis-image": none, "redis-port": none, "named-volume": none}
    service = config["services"][name]
    top_level = config.get("volumes") or {}

    def on(expected: Expected) -> Expected:
        return Expected(expected.status, f"service {name!r}: {expected.why}")
    return {"compose-file": accepted, "redis-image": on(judge_image(service.get("image"))),
            "redis-port": on(judge_ports(service)), "named-volume": on(judge_volume(service, top_level))}
