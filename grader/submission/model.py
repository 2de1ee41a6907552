"""The student's Compose project as the grader sees it: raw YAML (for file:line) and
Compose's own normalised model (for meaning), plus which service plays which role."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from grader.submission import imageref
from grader.results import Location
from grader.yaml import LoadedYaml, item_line, key_line

REDIS_PORT = 6379
WEB_PORT = 5000


@dataclass
class ComposeModel:
    documents: list[LoadedYaml]   # every YAML document Compose read: the main files first
    config: dict[str, Any]        # `docker compose config --format json`, every profile enabled
    order: list[str] = field(default_factory=list)      # service names in the order the files name them
    profiles: tuple[str, ...] = ()                       # the active profiles (COMPOSE_PROFILES)
    project_dir: str | None = None                       # where relative paths resolve (the grader's copy)
    extends: dict[str, Any] = field(default_factory=dict)  # service -> (base service, documents of its file)
    env_files: list[Any] = field(default_factory=list)   # the .env files read (dotenv.EnvFile), project's first

    def shown_path(self, path: Any) -> str:
        """A path of the model as the student wrote it: ./data, never the grader's copy."""
        text = str(path)
        if self.project_dir and (text == self.project_dir or text.startswith(self.project_dir.rstrip("/") + "/")):
            relative = os.path.relpath(text, self.project_dir)
            return "." if relative == "." else f"./{relative}"
        return text

    def variable_behind(self, service: str, *keys: str) -> tuple[str, str] | None:
        """(variable, where `.env` sets it) when the raw value at service → keys is written with a
        variable that a `.env` file sets, e.g. `${REDIS_IMAGE:-redis:alpine}` and `.env:2`."""
        for document in reversed(self.documents):
            node: Any = document.data.get("services")
            for key in (service, *keys):
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, str):
                for name in re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", node):
                    for env in self.env_files:
                        where = env.location(name)
                        if where:
                            return name, str(where)
        return None

    @property
    def main(self) -> LoadedYaml:
        return self.documents[0]

    @property
    def all_services(self) -> dict[str, dict[str, Any]]:
        """Every service, in the student's order, whatever its profiles."""
        services = self.config.get("services")
        services = services if isinstance(services, dict) else {}
        ordered = [name for name in self.order if name in services] + sorted(set(services) - set(self.order))
        return {name: services[name] for name in ordered}

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        """The services `docker compose up` starts (no profile, or an active one), in the student's order."""
        return {name: svc for name, svc in self.all_services.items() if self.active(name)}

    def active(self, name: str) -> bool:
        profiles = self.all_services.get(name, {}).get("profiles") or []
        return not profiles or "*" in self.profiles or any(p in self.profiles for p in profiles)

    def service(self, name: str | None) -> dict[str, Any]:
        return self.all_services.get(name or "", {}) if name else {}

    @property
    def top_level_volumes(self) -> dict[str, Any]:
        volumes = self.config.get("volumes")
        return volumes if isinstance(volumes, dict) else {}

    def locate(self, service: str | None, *keys: Any) -> Location | None:
        """Where service → keys is set (the deepest match; among equals, the last file, which wins)."""
        return locate(self.documents, ("services", *([service] if service else []), *keys),
                      extends=self.extends) or self.main.location(1)

    def locate_top_level(self, *keys: Any) -> Location | None:
        return locate(self.documents, keys)

    def service_line(self, service: str) -> Location | None:
        """Where the service is first defined (an override only adds to it)."""
        defines = [d for d in self.documents if isinstance(d.data.get("services"), dict) and service in d.data["services"]]
        return locate(defines, ("services", service), first=True) if defines else None

    # Roles ------------------------------------------------------------------

    def redis_service(self) -> str | None:
        """The service named `redis`; failing that, the first in the student's file whose image is
        a Redis image (only among services `docker compose up` starts)."""
        return _redis_among(self.services)

    def inactive_redis_service(self) -> str | None:
        """A Redis service that `docker compose up` would not start because of its profiles."""
        return None if self.redis_service() else _redis_among(
            {name: svc for name, svc in self.all_services.items() if not self.active(name)})

    def web_service(self) -> str | None:
        """The service publishing container port 5000; failing that, one built from a Dockerfile."""
        redis = self.redis_service()
        candidates = [name for name in self.services if name != redis]
        for name in candidates:
            if WEB_PORT in published_targets(self.services[name]):
                return name
        return next((name for name in candidates if self.services[name].get("build")), None)

    def web_port(self, service: str) -> int:
        """The container port the web app listens on, as far as the file tells."""
        svc = self.service(service)
        targets = published_targets(svc)
        if WEB_PORT in targets or not targets:
            exposed = [int(p) for p in svc.get("expose") or [] if str(p).isdigit()]
            return WEB_PORT if WEB_PORT in targets or not exposed else exposed[0]
        return targets[0]


def _redis_among(services: dict[str, dict[str, Any]]) -> str | None:
    if "redis" in services:
        return "redis"
    return next((name for name, svc in services.items() if is_redis_repository(svc.get("image"))), None)


Extends = dict[str, tuple[str, list[LoadedYaml]]]  # service -> (the service it extends, the file's documents)


def locate(documents: list[LoadedYaml], keypath: tuple[Any, ...] | list[Any], first: bool = False,
           extends: Extends | None = None) -> Location | None:
    """The line where ``keypath`` (keys and list indices) is set in the student's files: the
    deepest match; among equally deep ones, the last document (it wins in Compose), or the
    first with ``first``. A key a service gets through `extends` is found in the extended file."""
    found = _deepest(documents, keypath, first)
    keypath = tuple(keypath)
    if extends and len(keypath) > 2 and keypath[0] == "services" and keypath[1] in extends \
            and (found is None or found[0] < len(keypath)):
        base, base_documents = extends[keypath[1]]
        inherited = _deepest(base_documents, ("services", base, *keypath[2:]), first)
        if inherited and (found is None or inherited[0] > found[0]):
            found = inherited
    return found[1] if found else None


def _deepest(documents: list[LoadedYaml], keypath: tuple[Any, ...] | list[Any],
             first: bool) -> tuple[int, Location] | None:
    best: tuple[int, Location] | None = None
    for document in documents:
        node: Any = document.data
        depth, line = 0, None
        for key in keypath:
            if isinstance(node, dict) and key in node:
                line = key_line(node, key) or line
                node = node[key]
            elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                line = item_line(node, key) or line
                node = node[key]
            else:
                break
            depth += 1
        if line and depth and (best is None or depth > best[0] or (depth == best[0] and not first)):
            best = (depth, document.location(line))
    return best


def published_targets(service: dict[str, Any]) -> list[int]:
    targets = []
    for port in service.get("ports") or []:
        if isinstance(port, dict) and str(port.get("target", "")).isdigit():
            targets.append(int(port["target"]))
    return targets


# Image references ---------------------------------------------------------------


def is_redis_repository(reference: Any) -> bool:
    """Whether a reference means the Redis image, read leniently (a wrongly spelt `REDIS:ALPINE` is
    still the student's Redis service; redis-image then says what is wrong with the spelling)."""
    if not isinstance(reference, str):
        return False
    name = reference.strip().lower().split("@", 1)[0]
    slash = name.rfind("/")
    if ":" in name[slash + 1:]:
        name = name[:name.rindex(":")]
    return name.rsplit("/", 1)[-1] == "redis"


_ALPINE_VARIANT = re.compile(r"^(\d+(\.\d+){0,2}-)?alpine(\d+(\.\d+)*)?$")


def image_problem(reference: Any, expected: str) -> str | None:
    """Why ``reference`` is not ``expected`` (or an accepted equivalent), in words; None when it is.

    `redis:alpine` also accepts docker.io/library/redis:alpine and version-pinned alpine tags
    (redis:7-alpine, redis:7.2-alpine3.19); any other expected tag must match exactly. Tags
    are compared as Docker compares them: case matters.
    """
    try:
        image = imageref.parse(reference)
    except imageref.InvalidReference as exc:
        return f"Docker cannot use this reference: {exc}"
    wanted = imageref.parse(expected)
    if (image.registry, image.repository) != (wanted.registry, wanted.repository):
        return f"it is the image {image.registry}/{image.repository}, not {wanted.repository}"
    if image.tag is None and image.digest:
        return "it is pinned by digest only, so the grader cannot tell which tag it is"
    tag, wanted_tag = image.effective_tag, wanted.effective_tag
    ok = bool(_ALPINE_VARIANT.match(tag)) if wanted_tag == "alpine" else tag == wanted_tag
    return None if ok else f"its tag is `{tag}`, not `{wanted_tag}`"


def image_matches(reference: Any, expected: str) -> bool:
    return image_problem(reference, expected) is None
