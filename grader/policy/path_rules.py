"""The rules that resolve paths: bind sources, build contexts and Dockerfiles, secret files.

Compose's model holds absolute paths (resolved against the project folder in the grader's
copy); each is resolved again here one component at a time, never following a link out.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from grader.submission.paths import Root, is_remote, resolve_in
from grader.policy.findings import Finding

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def shown(path: str, root: Root) -> str:
    """A path as the student wrote it: ./data for a path in the submission, else as it is."""
    inside = resolve_in(path, root.real, root)
    if inside is not None or root.lexically_inside(path, root.real):
        relative = root.display(os.path.normpath(path))
        return "." if relative in ("", ".") else f"./{relative}"
    return path


def written_source(raw: Any) -> str | None:
    """The source of a volume entry as the student wrote it (`../..` of `../..:/data`)."""
    if isinstance(raw, Mapping):
        return raw.get("source") if isinstance(raw.get("source"), str) else None
    if not isinstance(raw, str) or ":" not in raw:
        return None
    if re.match(r"^[A-Za-z]:[\\/]", raw):  # a Windows drive letter
        return raw[:2] + raw[2:].split(":", 1)[0]
    return raw.split(":", 1)[0]


def bind_mounts(name: str, service: Mapping, root: Root, raw: Callable[[tuple], Any]) -> Iterator[Finding]:
    for index, mount in enumerate(service.get("volumes") or []):
        if not isinstance(mount, Mapping) or mount.get("type") not in ("bind", "npipe"):
            continue
        source = mount.get("source")
        if not isinstance(source, str) or resolve_in(source, root.real, root) is not None:
            continue
        target = mount.get("target")
        keypath = ("services", name, "volumes", index)
        spelled = written_source(raw(keypath)) or shown(source, root)
        yield Finding("bind-mount-outside", f"service:{name}", str(target), keypath,
                      f"service '{name}' bind-mounts '{spelled}'"
                      + (f" at {target}" if target else "") + f": {_why_outside(source, root)}; only paths inside the "
                      "submission (like ./data:/data) or named volumes may be mounted.",
                      "Mount a named volume instead (`redis_data:/data`, declared under the top-level `volumes:`), "
                      "or a folder inside your submission.")


def _why_outside(source: str, root: Root) -> str:
    if source in DOCKER_SOCKETS or source.endswith("/docker.sock"):
        return "the Docker socket, which gives the container control of the Docker engine and so of the host"
    home = os.environ.get("HOME")
    if home and (source == home or source.startswith(home.rstrip("/") + "/")):
        return "a path in the grading machine's home directory, outside the submission folder"
    if root.lexically_inside(source, root.real):
        return "it leads outside the submission folder through a symbolic link"
    return f"{source} on the grading machine, outside the submission folder"


def build(name: str, service: Mapping, root: Root, raw: Callable[[tuple], Any]) -> Iterator[Finding]:
    spec = service.get("build")
    if not isinstance(spec, Mapping):
        return
    here = ("services", name, "build")
    context = spec.get("context", ".")
    if not isinstance(context, str):
        return
    written = raw(here)
    spelled = written if isinstance(written, str) else raw(here + ("context",))
    spelled = spelled if isinstance(spelled, str) else shown(context, root)
    if is_remote(context):
        yield _build_finding(name, "context", here, f"service '{name}' builds from the remote context '{context}'; "
                             "build only from files in the submission.")
        return
    context_dir = resolve_in(context, root.real, root)
    if context_dir is None:
        at = here + ("context",) if isinstance(written, Mapping) else here
        yield _build_finding(name, "context", at, f"service '{name}' builds from context '{spelled}', "
                             f"{_outside(context, root)} (the build would read files of the grading machine).")
        return
    dockerfile = spec.get("dockerfile")
    if isinstance(dockerfile, str) and dockerfile.strip() and not spec.get("dockerfile_inline"):
        if resolve_in(dockerfile, context_dir, root) is None:
            yield _build_finding(name, "dockerfile", here + ("dockerfile",), f"service '{name}' builds with dockerfile '{dockerfile}', "
                                 f"{_outside(os.path.join(context_dir, dockerfile), root)}; keep the Dockerfile inside "
                                 "your project.")
    for ignore in (".dockerignore", f"{dockerfile or 'Dockerfile'}.dockerignore"):
        path = os.path.join(context_dir, ignore)
        if os.path.islink(path) and resolve_in(ignore, context_dir, root) is None:
            yield _build_finding(name, "dockerignore", here, f"service '{name}' has a {ignore} that is a symbolic "
                                 "link leading outside the submission folder; the build would read a file of the "
                                 "grading machine.", rule="symlink-outside")
    yield from _additional_contexts(name, spec.get("additional_contexts"), here, root)


def _additional_contexts(name: str, extra: Any, here: tuple, root: Root) -> Iterator[Finding]:
    if not isinstance(extra, Mapping):
        return
    for key, value in extra.items():
        ref = str(value).strip()
        if not ref or ref.lower().startswith(("service:", "target:")):
            continue
        if is_remote(ref) or "://" in ref:
            yield _build_finding(name, f"additional_contexts:{key}", here + ("additional_contexts", key),
                                 f"service '{name}' adds the build context '{key}' from '{ref}', a remote or image "
                                 "source; build only from files in the submission.")
        elif resolve_in(ref, root.real, root) is None:
            yield _build_finding(name, f"additional_contexts:{key}", here + ("additional_contexts", key),
                                 f"service '{name}' adds the build context "
                                 f"'{key}' from '{shown(ref, root)}', {_outside(ref, root)}; build only from files in "
                                 "the submission.")


def _build_finding(name: str, detail: str, here: tuple, message: str, rule: str = "build-context-outside") -> Finding:
    return Finding(rule, f"service:{name}", detail, here, message,
                   "Build from a folder of your submission (usually `build: .`), with its Dockerfile inside it.")


def _outside(path: str, root: Root) -> str:
    if root.lexically_inside(path, root.real):
        return "which leads outside the submission folder through a symbolic link"
    return "which is outside the submission folder"


def secret_files(kind: str, name: str, entry: Mapping, root: Root, raw: Callable[[tuple], Any]) -> Iterator[Finding]:
    file = entry.get("file")
    if isinstance(file, str) and resolve_in(file, root.real, root) is None:
        singular = kind[:-1]
        written = raw((kind, name, "file"))
        yield Finding("file-outside", f"{singular}:{name}", "file", (kind, name, "file"),
                      f"{singular} '{name}' reads file '{written if isinstance(written, str) else shown(file, root)}', "
                      f"{_outside(file, root)}; use only files "
                      "inside it.", "Keep the file inside your submission folder.")
