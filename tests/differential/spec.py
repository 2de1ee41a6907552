"""One generated submission: what it holds (a ``Spec``) and how it is written to disk.

Compose files are written as text, not through a YAML library, because the variations are
spellings (quotes, tabs, block scalars, byte order marks) that a serialiser would normalise away.
A ``Spec`` starts as a correct submission (Redis from redis:alpine, 6379:6379, a declared named
volume at /data); each variation edits it.
"""
from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path

CORRECT_IMAGE = " redis:alpine"


@dataclass
class Service:
    """A service other than the graded Redis one: its name and its body lines (relative indent)."""

    name: str
    body: list[str]


@dataclass
class Spec:
    # What the Redis service holds: text after `image:`, lines under `ports:` / `volumes:`.
    redis_name: str = "redis"
    image: str = CORRECT_IMAGE
    ports: list[str] | None = field(default_factory=lambda: ['- "6379:6379"'])
    volumes: list[str] | None = field(default_factory=lambda: ["- redis_data:/data"])
    top_volumes: list[str] | None = field(default_factory=lambda: ["redis_data:"])
    top_volumes_key: str = "volumes"                          # a typo (`volume`) is a variation
    redis_extra: list[str] = field(default_factory=list)      # further lines of the Redis service
    redis_key_suffix: str = ""                                # after `redis:` on its line (a comment)
    before: list[Service] = field(default_factory=list)       # services written before Redis
    after: list[Service] = field(default_factory=list)        # ... and after it
    # Files.
    main_name: str = "compose.yaml"
    include_file: str | None = None      # the Redis service (and top-level volumes) live there, included
    extends_file: str | None = None      # the Redis image comes from a base service in that file
    override: tuple[str, str] | None = None  # (file name, text with {redis} for the service name)
    env: list[str] | None = None         # lines of .env
    env_newline: str = "\n"
    extra_files: dict[str, bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)
    # Bytes of the main file.
    encoding: str = "utf-8"              # utf-8, utf-8-sig, utf-16-le-bom, utf-16-be-bom, utf-16-le
    newline: str = "\n"
    tab_after_image: bool = False
    documents: str = "one"               # one, split (volumes in a 2nd document), empty-tail (trailing ---)

    def add_env(self, *lines: str) -> None:
        self.env = (self.env or []) + list(lines)

    def service_order(self) -> list[str]:
        """Service names in the order the student wrote them (included files stand at the include)."""
        return [self.redis_name] + [s.name for s in self.before + self.after] if self.include_file \
            else [s.name for s in self.before] + [self.redis_name] + [s.name for s in self.after]


# Rendering ---------------------------------------------------------------------------------------

def _block(key: str, lines: list[str] | None, indent: str) -> list[str]:
    return [] if lines is None else [f"{indent}{key}:"] + [f"{indent}  {line}" for line in lines]


def redis_lines(spec: Spec) -> list[str]:
    separator = "\t" if spec.tab_after_image and spec.image.startswith(" ") else ""
    image = separator + spec.image[1:] if separator else spec.image
    if spec.extends_file:
        head = ["    extends:", f"      file: {spec.extends_file}", "      service: redis-base"]
    else:
        head = [f"    image:{image}"]
    return ([f"  {spec.redis_name}:{spec.redis_key_suffix}"] + head + _block("ports", spec.ports, "    ")
            + _block("volumes", spec.volumes, "    ") + [f"    {line}" for line in spec.redis_extra])


def _service(service: Service) -> list[str]:
    return [f"  {service.name}:"] + [f"    {line}" for line in service.body]


def main_lines(spec: Spec) -> list[str]:
    others_before = [line for s in spec.before for line in _service(s)]
    others_after = [line for s in spec.after for line in _service(s)]
    top_volumes = _block(spec.top_volumes_key, spec.top_volumes, "")
    if spec.include_file:
        services = others_before + others_after
        head = ["include:", f"  - {spec.include_file}"]
        body = head + (["services:"] + services if services else [])
        top_volumes = []
    else:
        body = ["services:"] + others_before + redis_lines(spec) + others_after
    if spec.documents == "split":
        return body + ["---"] + (top_volumes or ["x-note: a second YAML document"])
    if spec.documents == "empty-tail":
        return body + top_volumes + ["---"]
    return body + top_volumes


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


def files(spec: Spec) -> dict[str, bytes]:
    """Every regular file of the submission, by its path relative to the folder."""
    out = dict(spec.extra_files)
    text = spec.newline.join(main_lines(spec)) + spec.newline
    out[spec.main_name] = encode(text, spec.encoding)
    if spec.include_file:
        included = ["services:"] + redis_lines(spec) + _block(spec.top_volumes_key, spec.top_volumes, "")
        out[spec.include_file] = ("\n".join(included) + "\n").encode()
    if spec.extends_file:
        out[spec.extends_file] = f"services:\n  redis-base:\n    image:{spec.image}\n".encode()
    if spec.override:
        name, template = spec.override
        out[name] = template.replace("{redis}", spec.redis_name).encode()
    if spec.env is not None:
        out[".env"] = (spec.env_newline.join(spec.env) + spec.env_newline).encode()
    return out


def write(spec: Spec, folder: Path) -> None:
    folder.mkdir(parents=True)
    for relative, data in files(spec).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for relative, target in spec.symlinks.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
