"""Image references read with Docker's own grammar (distribution/reference), so that whatever
Docker would refuse to pull is refused here too, saying why."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[_.]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
MAX_NAME_LENGTH = 255


class InvalidReference(ValueError):
    """Docker would refuse this reference; the message says why, in words for a student."""


@dataclass(frozen=True)
class ImageRef:
    registry: str        # docker.io for Docker Hub
    repository: str      # library/redis
    tag: str | None      # None when the reference names none (Docker then uses latest, unless pinned by digest)
    digest: str | None = None

    @property
    def effective_tag(self) -> str:
        return self.tag or "latest"

    def __str__(self) -> str:
        return f"{self.repository}:{self.effective_tag}"


def parse(reference: str) -> ImageRef:
    """Parse ``reference`` as `docker pull` would (docker.io and library/ implied), or raise
    InvalidReference saying what Docker would reject."""
    if not isinstance(reference, str) or not reference:
        raise InvalidReference("the image reference is empty")
    if reference != reference.strip():
        raise InvalidReference(f"{json.dumps(reference)} has white space around it (a stray space or line break)")
    name, digest = reference, None
    if "@" in reference:
        name, digest = reference.split("@", 1)
        _check_digest(digest)
    tag = None
    slash = name.rfind("/")
    if ":" in name[slash + 1:]:
        name, tag = name.rsplit(":", 1)
        if not _TAG.match(tag):
            raise InvalidReference(f"the tag `{tag}` is not a valid tag (letters, digits, `_`, `.`, `-`, up to 128)")
    registry, path = _split_domain(name)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidReference(f"the repository name is longer than {MAX_NAME_LENGTH} characters")
    for component in path.split("/"):
        if not _PATH_COMPONENT.match(component):
            if component.lower() != component and _PATH_COMPONENT.match(component.lower()):
                raise InvalidReference(f"the repository name `{path}` has capital letters; Docker repository names "
                                       "must be lowercase")
            raise InvalidReference(f"`{component}` is not a valid repository name component (lowercase letters, "
                                   "digits and single separators `.`, `_`, `-`)")
    if registry == "docker.io" and "/" not in path:
        path = f"library/{path}"
    return ImageRef(registry, path, tag, digest)


def _split_domain(name: str) -> tuple[str, str]:
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first.lower() != first):
        if not _DOMAIN.match(first):
            raise InvalidReference(f"`{first}` is not a valid registry host")
        return ("docker.io" if first == "index.docker.io" else first), rest
    return "docker.io", name


def _check_digest(digest: str) -> None:
    if not _DIGEST.match(digest):
        raise InvalidReference(f"`@{digest}` is not a valid digest (it must look like sha256: followed by 64 hex digits)")
    algorithm, hex_part = digest.split(":", 1)
    wanted = _DIGEST_LENGTHS.get(algorithm)
    if wanted is None:
        raise InvalidReference(f"`{algorithm}` is not a digest algorithm Docker supports (sha256, sha384, sha512)")
    if len(hex_part) != wanted:
        raise InvalidReference(f"a {algorithm} digest has {wanted} hex digits, this one {len(hex_part)}")
    if hex_part != hex_part.lower():
        raise InvalidReference(f"a {algorithm} digest is written in lowercase hex digits")


def try_parse(reference: object) -> ImageRef | None:
    try:
        return parse(reference)  # type: ignore[arg-type]
    except InvalidReference:
        return None
