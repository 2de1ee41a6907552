"""The student's Compose project as the grader sees it: raw YAML (for file:line) and
Compose's own normalised model (for meaning), plus which service plays which role."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grader.results import Location
from grader.yamlload import LoadedYaml, key_line, node_line

REDIS_PORT = 6379
WEB_PORT = 5000


@dataclass
class ComposeModel:
    documents: list[LoadedYaml]   # the main file first, then an override file
    config: dict[str, Any]        # `docker compose config --format json`

    @property
    def main(self) -> LoadedYaml:
        return self.documents[0]

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services = self.config.get("services")
        return services if isinstance(services, dict) else {}

    def service(self, name: str | None) -> dict[str, Any]:
        return self.services.get(name or "", {}) if name else {}

    @property
    def top_level_volumes(self) -> dict[str, Any]:
        volumes = self.config.get("volumes")
        return volumes if isinstance(volumes, dict) else {}

    def locate(self, service: str | None, *keys: str) -> Location | None:
        """Where service → keys is set: the deepest match; among equals, the last file (it wins in Compose)."""
        best: tuple[int, Location] | None = None
        for document in self.documents:
            node: Any = document.data.get("services")
            depth, line = 0, key_line(document.data, "services")
            for key in ([service] if service else []) + list(keys):
                if not isinstance(node, dict) or key not in node:
                    break
                depth, line = depth + 1, key_line(node, key) or line
                node = node[key]
            if line and depth and (best is None or depth >= best[0]):
                best = (depth, document.location(line))
        return best[1] if best else self.main.location(1)

    def locate_top_level(self, *keys: str) -> Location | None:
        for document in reversed(self.documents):
            node: Any = document.data
            line = None
            for key in keys:
                if not isinstance(node, dict) or key not in node:
                    break
                line = key_line(node, key)
                node = node[key]
            if line:
                return document.location(line)
        return None

    def service_line(self, service: str) -> Location | None:
        for document in self.documents:
            services = document.data.get("services")
            if isinstance(services, dict) and service in services:
                return document.location(key_line(services, service) or node_line(services))
        return None

    # Roles ------------------------------------------------------------------

    def redis_service(self) -> str | None:
        """The service named `redis`; failing that, the first whose image is a Redis image."""
        if "redis" in self.services:
            return "redis"
        return next((name for name, svc in self.services.items() if is_redis_repository(svc.get("image"))), None)

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


def published_targets(service: dict[str, Any]) -> list[int]:
    targets = []
    for port in service.get("ports") or []:
        if isinstance(port, dict) and str(port.get("target", "")).isdigit():
            targets.append(int(port["target"]))
    return targets


# Image references ---------------------------------------------------------------

@dataclass(frozen=True)
class ImageRef:
    registry: str
    repository: str
    tag: str

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


def parse_image(reference: Any) -> ImageRef | None:
    """Normalise an image reference the way Docker does: docker.io and library/ are implied."""
    if not isinstance(reference, str) or not reference.strip():
        return None
    reference = reference.strip().lower()
    first, _, rest = reference.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, remainder = first, rest
    else:
        registry, remainder = "docker.io", reference
    if registry == "index.docker.io":
        registry = "docker.io"
    remainder = remainder.split("@", 1)[0]
    repository, _, tag = remainder.partition(":")
    if registry == "docker.io" and "/" not in repository:
        repository = f"library/{repository}"
    return ImageRef(registry, repository, tag or "latest")


def is_redis_repository(reference: Any) -> bool:
    image = parse_image(reference)
    return bool(image) and image.repository.rsplit("/", 1)[-1] == "redis"


_ALPINE_VARIANT = re.compile(r"^(\d+(\.\d+){0,2}-)?alpine(\d+(\.\d+)*)?$")


def image_matches(reference: Any, expected: str) -> bool:
    """True when ``reference`` is ``expected`` or an accepted equivalent.

    `redis:alpine` also accepts docker.io/library/redis:alpine and version-pinned alpine
    tags (redis:7-alpine, redis:7.2-alpine3.19); any other expected tag must match exactly.
    """
    image, wanted = parse_image(reference), parse_image(expected)
    if not image or not wanted or (image.registry, image.repository) != (wanted.registry, wanted.repository):
        return False
    if wanted.tag == "alpine":
        return bool(_ALPINE_VARIANT.match(image.tag))
    return image.tag == wanted.tag
