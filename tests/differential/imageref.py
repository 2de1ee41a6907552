"""Docker's image reference grammar, written from its specification, for the oracle.

The grammar is that of github.com/distribution/reference (regexp.go, normalize.go), which
the Docker CLI and engine use to parse `image:`:

    reference  := name [ ":" tag ] [ "@" digest ]
    name       := [ domain "/" ] path-component { "/" path-component }
    domain     := host [ ":" port ]          host: DNS-like components, or [IPv6]
    path-component := [a-z0-9]+ { separator [a-z0-9]+ }   separator: . _ __ or one or more -
    tag        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
    digest     := algorithm ":" hex          (sha256: 64, sha384: 96, sha512: 128 lowercase hex)

A first component is a domain only when it is `localhost` or holds `.` or `:` (or is not
lowercase); otherwise the reference is on Docker Hub (`docker.io`), and a one-component path
gets `library/`. `index.docker.io` is Docker Hub too. Repository paths must be lowercase, at
most 255 characters; a bare 64-hex string is an image id, not a name.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_HOST = rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[A-Fa-f0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}"
# Matched with fullmatch: `$` would also match before a final newline (`image: |`).
_REFERENCE = re.compile(rf"((?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*)(?::({_TAG}))?(?:@({_DIGEST}))?")
_NAME = re.compile(rf"(?:({_DOMAIN})/)?({_COMPONENT}(?:/{_COMPONENT})*)")
_IMAGE_ID = re.compile(r"[a-f0-9]{64}")
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
MAX_PATH = 255
HUB = "docker.io"


@dataclass(frozen=True)
class ImageReference:
    domain: str
    path: str
    tag: str | None
    digest: str | None


class InvalidReference(ValueError):
    """Docker would refuse to pull this reference; the message says why."""


def _split_domain(text: str) -> tuple[str, str]:
    first, slash, rest = text.partition("/")
    if not slash:
        return HUB, "library/" + text
    if first == "localhost" or "." in first or ":" in first or first.lower() != first:
        domain, remainder = (HUB if first == "index.docker.io" else first), rest
    else:
        domain, remainder = HUB, text
    if domain == HUB and "/" not in remainder:
        remainder = "library/" + remainder
    return domain, remainder


def _check_digest(digest: str) -> None:
    algorithm, _, encoded = digest.partition(":")
    if algorithm not in DIGEST_HEX_LENGTHS:
        raise InvalidReference(f"digest algorithm {algorithm!r} is not supported (sha256, sha384, sha512)")
    if not re.fullmatch(rf"[a-f0-9]{{{DIGEST_HEX_LENGTHS[algorithm]}}}", encoded):
        raise InvalidReference(f"a {algorithm} digest is {DIGEST_HEX_LENGTHS[algorithm]} lowercase hex digits")


def parse(text: str) -> ImageReference:
    """Parse ``text`` as `docker pull` would; raise InvalidReference saying why it cannot."""
    if not text:
        raise InvalidReference("the reference is empty")
    if _IMAGE_ID.fullmatch(text):
        raise InvalidReference("a 64-hex string is an image id, not a repository name")
    if any(char.isspace() for char in text):
        raise InvalidReference(f"{text!r} holds whitespace (a space, tab or line break)")
    domain, remainder = _split_domain(text)
    repository = remainder.split("@", 1)[0].split(":", 1)[0]
    if repository.lower() != repository:
        raise InvalidReference(f"repository name {repository!r} must be lowercase")
    match = _REFERENCE.fullmatch(f"{domain}/{remainder}")
    if not match:
        raise InvalidReference("invalid reference format")
    name = _NAME.fullmatch(match.group(1))
    assert name is not None  # the reference pattern embeds the name pattern
    if len(name.group(2)) > MAX_PATH:
        raise InvalidReference(f"repository name is longer than {MAX_PATH} characters")
    if match.group(3):
        _check_digest(match.group(3))
    return ImageReference(name.group(1) or "", name.group(2), match.group(2), match.group(3))
