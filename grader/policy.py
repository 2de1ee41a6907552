"""The safety policy: what a student's Compose files may not ask the Docker engine to do.

Student files are untrusted input run with root-like power, so the grader checks them
before anything is built, pulled or started, in three passes:

* ``check_documents`` reads the raw YAML (with line numbers) of every Compose file the
  grader was given, following local ``include:`` and ``extends.file`` references itself
  (depth and count capped; no file outside the submission is ever read);
* ``check_model`` reads the normalised model printed by ``docker compose config --format
  json``, which catches what reaches a service through include, extends or interpolation;
* ``check_symlinks`` looks for symbolic links that lead out of the submission folder.

``evaluate`` runs all three, merges duplicates and drops the rules an instructor allowed.
Every check accepts any shape of input: a value of the wrong type is not a violation (the
Compose validator reports it), and nothing here raises on odd input.
"""
from __future__ import annotations

import os
import re
import stat
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.errors import ComposeLoadError
from grader.results import Location, PolicyViolation
from grader.yamlload import LoadedYaml, item_line, key_line, load_yaml, node_line

try:  # ruamel keeps anchored booleans as ScalarBoolean (an int subclass), not bool
    from ruamel.yaml.scalarbool import ScalarBoolean
except ImportError:  # pragma: no cover - ruamel always ships it
    ScalarBoolean = bool  # type: ignore[misc,assignment]

RULES: dict[str, str] = {
    "privileged": "privileged: true on a service, a post_start/pre_stop hook or a develop.watch exec (full control of the host)",
    "cap-add": "cap_add with a capability beyond Docker's default set (e.g. SYS_ADMIN, NET_ADMIN, ALL)",
    "devices": "devices: maps host devices into the container",
    "device-cgroup-rules": "device_cgroup_rules: grants access to host devices",
    "gpus": "gpus: or deploy.resources.reservations.devices: asks for host GPUs/devices",
    "security-opt": "security_opt other than no-new-privileges:true (e.g. seccomp/apparmor unconfined, label:disable)",
    "sysctls": "sysctls: changes kernel parameters",
    "cgroup-parent": "cgroup_parent: moves the container out of the grader's cgroup",
    "cgroup": "cgroup: host shares the host's cgroup namespace",
    "runtime": "runtime: other than runc",
    "oom-kill-disable": "oom_kill_disable: true lets the container exhaust the host's memory",
    "oom-score-adj": "a negative oom_score_adj makes the kernel kill host processes first",
    "storage-opt": "storage_opt: changes the host's storage driver options",
    "use-api-socket": "use_api_socket: true hands the container the Docker API socket and credentials",
    "provider": "provider: makes Compose run an external program on the grading machine",
    "host-namespace": "pid/ipc/uts/userns_mode/network_mode set to host, container:X, or service:X for a service not in the project",
    "bind-mount-outside": "a bind mount whose source resolves outside the submission (absolute path, ~, .., the Docker socket)",
    "volumes-from": "volumes_from: container:X mounts the volumes of a container outside the project",
    "volume-driver": "a named volume with a non-local driver, or driver_opts that mount a host path or device",
    "external-volume": "a volume declared external: true (data from outside the project)",
    "external-network": "a network declared external: true (e.g. the host network or another project's network)",
    "network-driver": "a network with a driver other than bridge, or with driver_opts",
    "build-context-outside": "build context, dockerfile or additional_contexts outside the submission, or remote (git, http(s), docker-image://, oci-layout://)",
    "build-cache": "build cache_to (except type=inline), or cache_from of a type other than registry/local-inside",
    "build-ssh": "build.ssh forwards the grading machine's SSH agent or keys into the build",
    "build-secrets": "build.secrets passes secrets into the build",
    "build-entitlements": "build.entitlements grants the build extra privileges",
    "build-network-host": "build.network: host gives build steps the host's network",
    "build-privileged": "build.privileged: true runs build steps with full privileges",
    "file-outside": "env_file, label_file, secret/config file, extends.file, include path/env_file/project_directory or develop.watch path outside the submission, remote, or (for files Compose reads while loading) written with a variable",
    "file-unchecked": "a local include/extends file the grader cannot check (unsafe or unreadable YAML, or past the nesting/count limit)",
    "secret-environment": "a secret or config whose value comes from the grading machine's environment (environment:)",
    "symlink-outside": "a symbolic link in the submission that points outside it",
    "check-failed": "the grader could not finish checking part of a file (it refuses rather than guess)",
}

MAX_INCLUDE_DEPTH = 5
MAX_INCLUDED_FILES = 20
MAX_SYMLINK_HOPS = 40
MAX_WALK_ENTRIES = 200_000

# Docker's default capability set: adding one of these back (after cap_drop: [ALL]) is harmless.
DEFAULT_CAPS = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
ALLOWED_SECURITY_OPTS = frozenset({"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"})
TRUE_STRINGS = frozenset({"true", "yes", "y", "on"})  # what Compose accepts as a true string
NAMESPACE_KEYS = {
    "network_mode": "network",
    "pid": "process (PID)",
    "ipc": "IPC (shared memory)",
    "uts": "hostname (UTS)",
    "userns_mode": "user",
}
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_GIT_HOSTS = re.compile(r"^(github\.com|gitlab\.com|bitbucket\.org)/", re.IGNORECASE)
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class _Finding:
    """A violation plus what ``evaluate`` needs to merge and locate it."""

    subject: str  # "service:web", "volume:data", "include", "symlink:path" ...
    detail: str | None  # tells apart several findings of one rule on one subject
    keypath: tuple[Any, ...]  # where in a Compose file the offending key sits
    violation: PolicyViolation


def _is_true(value: Any) -> bool:
    if isinstance(value, (bool, ScalarBoolean)):
        return bool(value)
    if isinstance(value, str):
        return value.strip().lower() in TRUE_STRINGS
    return False


def _nonempty(value: Any) -> bool:
    """A set value that Compose would act on: a non-empty list/mapping or a non-blank string."""
    if isinstance(value, (list, tuple, Mapping)):
        return len(value) > 0
    if isinstance(value, str):
        return bool(value.strip())
    return False


def _name(key: Any) -> str:
    return str(key)


def _short(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_remote(ref: str) -> bool:
    ref = ref.strip()
    return bool(_SCHEME.match(ref)) or ref.startswith("git@") or bool(_GIT_HOSTS.match(ref))


def _as_str_list(value: Any) -> list[tuple[int, str]]:
    """(index, string) for a string or a list holding strings; anything else yields nothing."""
    if isinstance(value, str):
        return [(-1, value)]
    if isinstance(value, list):
        return [(i, item) for i, item in enumerate(value) if isinstance(item, str)]
    return []


def _items(mapping: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(mapping, Mapping):
        try:
            yield from list(mapping.items())
        except (TypeError, ValueError):  # pragma: no cover - defensive against odd mappings
            return


def _is_inside(path: str, root: str) -> bool:
    if root == os.sep:
        return True
    return path == root or path.startswith(root + os.sep)


def _is_ancestor(path: str, root: str) -> bool:
    if path == os.sep:
        return True
    return root.startswith(path.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class _Root:
    """The submission folder: its real path, and the spellings a caller or Compose may use for it."""

    real: str
    spellings: tuple[str, ...]

    @classmethod
    def of(cls, submission_root: Path | str) -> _Root:
        given = os.path.abspath(str(submission_root))
        try:
            real = os.path.realpath(given)
        except (OSError, ValueError):
            real = given
        return cls(real, tuple(dict.fromkeys((real, given))))

    def display(self, path: str) -> str:
        """A path inside the submission, relative to it (as reports show it)."""
        try:
            return Path(path).relative_to(self.real).as_posix()
        except ValueError:
            return path


def _resolve_inside(raw: str, base: Path | str, root: _Root) -> str | None:
    """The real path ``raw`` names (relative to ``base``) if it stays inside ``root``, else None.

    ``..`` is first removed lexically, as Compose does; then symbolic links are followed one
    component at a time, but only while they are inside the submission: the walk stops (and
    answers None) the moment it would step outside, so nothing outside is ever looked at.
    ``~`` paths, symlink loops and links that lead outside all answer None.
    """
    if not isinstance(raw, str) or raw.startswith("~"):
        return None
    real_root = root.real
    path = raw if os.path.isabs(raw) else os.path.join(str(base), raw)
    path = os.path.normpath(path)
    # The caller may spell the root without resolving it (e.g. /tmp vs /private/tmp).
    for spelling in root.spellings:
        if spelling != real_root and _is_inside(path, spelling):
            path = real_root + path[len(spelling):] if spelling != os.sep else path
            break
    pending = [part for part in reversed(path.split(os.sep)) if part]
    current = os.sep
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current) or os.sep
            continue
        candidate = os.path.join(current, part)
        if _is_inside(candidate, real_root):
            try:
                info = os.lstat(candidate)
            except (OSError, ValueError):  # does not exist (yet): the rest is plain text
                rest = [candidate] + list(reversed(pending))
                final = os.path.normpath(os.path.join(*rest))
                return final if _is_inside(final, real_root) else None
            if stat.S_ISLNK(info.st_mode):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                try:
                    target = os.readlink(candidate)
                except (OSError, ValueError):
                    return None
                if os.path.isabs(target):
                    current = os.sep
                pending.extend(part for part in reversed(target.split(os.sep)) if part)
                continue
            current = candidate
        elif _is_ancestor(candidate, real_root):
            current = candidate
        else:
            return None
    return current if _is_inside(current, real_root) else None


# --------------------------------------------------------------------------- one file


class _Checker:
    """Checks one Compose mapping: a raw document (``doc`` set, lines known) or the model."""

    def __init__(self, data: Any, doc: LoadedYaml | None, base: Path | str, root: _Root,
                 services: frozenset[str], out: list[_Finding], own_dir: Path | str | None = None) -> None:
        self.data = data
        self.doc = doc
        self.raw = doc is not None
        self.base = base  # relative resource paths (bind mounts, env_file ...) resolve against it
        self.own_dir = base if own_dir is None else own_dir  # the folder the file itself is in
        self.root = root
        self.services = services
        self.out = out

    # -- recording

    def add(self, rule: str, subject: str, detail: str | None, keypath: tuple[Any, ...],
            line: int | None, message: str) -> None:
        location = self.doc.location(line) if self.doc is not None and line else None
        self.out.append(_Finding(subject, detail, keypath, PolicyViolation(rule, message, location)))

    @staticmethod
    def kline(mapping: Any, key: Any) -> int | None:
        return key_line(mapping, key) or node_line(mapping)

    @staticmethod
    def iline(seq: Any, index: int, parent: Any = None, key: Any = None) -> int | None:
        line = item_line(seq, index) if index >= 0 else None
        return line or (key_line(parent, key) if parent is not None else None) or node_line(parent)

    def deferred(self, value: Any) -> bool:
        """A raw value holding a variable cannot be judged yet: the model pass will, interpolated."""
        return self.raw and isinstance(value, str) and "$" in value

    def resolve(self, raw: str, base: Path | str | None = None) -> str | None:
        return _resolve_inside(raw, self.base if base is None else base, self.root)

    def lexically_inside(self, raw: str, base: Path | str | None = None) -> bool:
        """True when only a symbolic link takes ``raw`` out of the submission."""
        if raw.startswith("~"):
            return False
        absolute = self.base_abs(raw, base)
        return any(_is_inside(absolute, spelling) for spelling in self.root.spellings)

    def outside(self, raw: str, base: Path | str | None = None) -> str:
        """How to say that ``raw`` is outside the submission."""
        if self.lexically_inside(raw, base):
            return "which leads outside the submission folder through a symbolic link"
        return "which is outside the submission folder"

    def base_abs(self, raw: str, base: Path | str | None = None) -> str:
        return os.path.normpath(raw if os.path.isabs(raw) else os.path.join(str(self.base if base is None else base), raw))

    # -- entry

    def run(self) -> None:
        data = self.data
        if not isinstance(data, Mapping):
            return
        for name, service in _items(data.get("services")):
            self.guard(f"service '{_name(name)}'", f"service:{_name(name)}", ("services", name),
                       lambda n=name, s=service: self.service(_name(n), s))
        for name, volume in _items(data.get("volumes")):
            self.guard(f"volume '{_name(name)}'", f"volume:{_name(name)}", ("volumes", name),
                       lambda n=name, v=volume: self.volume(_name(n), v))
        for name, network in _items(data.get("networks")):
            self.guard(f"network '{_name(name)}'", f"network:{_name(name)}", ("networks", name),
                       lambda n=name, v=network: self.network(_name(n), v))
        for kind in ("secrets", "configs"):
            for name, entry in _items(data.get(kind)):
                self.guard(f"{kind[:-1]} '{_name(name)}'", f"{kind[:-1]}:{_name(name)}", (kind, name),
                           lambda k=kind, n=name, e=entry: self.secret(k, _name(n), e))

    def guard(self, what: str, subject: str, keypath: tuple[Any, ...], check: Any) -> None:
        """Run one check; a bug on odd input must refuse the submission, never crash or wave it through."""
        try:
            check()
        except Exception as exc:  # noqa: BLE001 - fail closed, see docstring
            line = None
            parent = self.data.get(keypath[0]) if isinstance(self.data, Mapping) else None
            if len(keypath) > 1:
                line = key_line(parent, keypath[1])
            self.add("check-failed", subject, "check-failed", keypath, line,
                     f"the grader could not finish checking {what} ({type(exc).__name__}); "
                     "it refuses to boot the submission rather than guess.")

    # -- services

    def service(self, name: str, svc: Any) -> None:
        if not isinstance(svc, Mapping):
            return
        subject = f"service:{name}"
        here = ("services", name)

        def flag(rule: str, key: str, message: str, detail: str | None = None, line: int | None = None) -> None:
            self.add(rule, subject, detail, here + (key,), line or self.kline(svc, key), message)

        if _is_true(svc.get("privileged")):
            flag("privileged", "privileged",
                 f"service '{name}' sets privileged: true, which gives the container full control of the host.")
        for hook in ("post_start", "pre_stop"):
            hooks = svc.get(hook)
            if isinstance(hooks, list):
                for i, entry in enumerate(hooks):
                    if isinstance(entry, Mapping) and _is_true(entry.get("privileged")):
                        flag("privileged", hook,
                             f"service '{name}' runs a {hook} hook with privileged: true, which gives that "
                             "command full control of the host.",
                             detail=f"{hook}[{i}]", line=key_line(entry, "privileged") or self.iline(hooks, i, svc, hook))

        develop = svc.get("develop")
        watch = develop.get("watch") if isinstance(develop, Mapping) else None
        if isinstance(watch, list):
            for i, rule in enumerate(watch):
                run = rule.get("exec") if isinstance(rule, Mapping) else None
                if isinstance(run, Mapping) and _is_true(run.get("privileged")):
                    self.add("privileged", subject, f"watch[{i}]", here + ("develop",),
                             key_line(run, "privileged") or self.kline(svc, "develop"),
                             f"service '{name}' runs a develop.watch exec command with privileged: true, which gives "
                             "that command full control of the host.")

        caps = svc.get("cap_add")
        if isinstance(caps, list):
            bad = [(i, c) for i, c in enumerate(caps) if isinstance(c, str) and not self.deferred(c)
                   and c.strip().upper().removeprefix("CAP_") not in DEFAULT_CAPS]
            if bad:
                names = ", ".join(c.strip() for _, c in bad)
                flag("cap-add", "cap_add",
                     f"service '{name}' adds the capabilities {names} with cap_add, which let the container act on "
                     "the host's kernel; only Docker's default capabilities (e.g. NET_BIND_SERVICE, CHOWN) may be added.",
                     line=self.iline(caps, bad[0][0], svc, "cap_add"))

        devices = svc.get("devices")
        if isinstance(devices, list) and devices:
            shown = ", ".join(_short(d if isinstance(d, str) else d.get("source", d) if isinstance(d, Mapping) else d, 40)
                              for d in devices[:3])
            flag("devices", "devices",
                 f"service '{name}' maps host devices into the container with devices: ({shown}), which gives it "
                 "direct access to the grading machine's hardware.")
        rules = svc.get("device_cgroup_rules")
        if isinstance(rules, list) and rules:
            flag("device-cgroup-rules", "device_cgroup_rules",
                 f"service '{name}' sets device_cgroup_rules, which lets the container use host devices.")

        gpus = svc.get("gpus")
        if (isinstance(gpus, str) and gpus.strip() and not self.deferred(gpus)) or (isinstance(gpus, list) and gpus):
            flag("gpus", "gpus",
                 f"service '{name}' requests host GPUs with gpus:, which the grader does not give student containers.")
        deploy = svc.get("deploy")
        resources = deploy.get("resources") if isinstance(deploy, Mapping) else None
        reservations = resources.get("reservations") if isinstance(resources, Mapping) else None
        reserved = reservations.get("devices") if isinstance(reservations, Mapping) else None
        if isinstance(reserved, list) and reserved:
            self.add("gpus", subject, "deploy", here + ("deploy",), key_line(reservations, "devices") or self.kline(svc, "deploy"),
                     f"service '{name}' reserves host devices (GPUs) under deploy.resources.reservations.devices, "
                     "which the grader does not give student containers.")

        opts = svc.get("security_opt")
        if isinstance(opts, list):
            bad = [(i, o) for i, o in enumerate(opts) if isinstance(o, str) and not self.deferred(o)
                   and o.strip().lower().replace(" ", "") not in ALLOWED_SECURITY_OPTS]
            if bad:
                names = ", ".join(o.strip() for _, o in bad)
                flag("security-opt", "security_opt",
                     f"service '{name}' sets security_opt: {names}, which weakens the container's isolation from "
                     "the host; only no-new-privileges:true is allowed.",
                     line=self.iline(opts, bad[0][0], svc, "security_opt"))

        sysctls = svc.get("sysctls")
        if isinstance(sysctls, (list, Mapping)) and sysctls:
            flag("sysctls", "sysctls", f"service '{name}' sets kernel parameters with sysctls:, which the grader does not allow.")
        parent = svc.get("cgroup_parent")
        if isinstance(parent, str) and parent.strip() and not self.deferred(parent):
            flag("cgroup-parent", "cgroup_parent",
                 f"service '{name}' sets cgroup_parent: {_short(parent)}, which moves the container out of the "
                 "grader's resource limits.")
        cgroup = svc.get("cgroup")
        if isinstance(cgroup, str) and cgroup.strip().lower() == "host":
            flag("cgroup", "cgroup", f"service '{name}' sets cgroup: host, which shares the host's cgroup namespace with the container.")
        runtime = svc.get("runtime")
        if isinstance(runtime, str) and runtime.strip() and runtime.strip() != "runc" and not self.deferred(runtime):
            flag("runtime", "runtime",
                 f"service '{name}' sets runtime: {_short(runtime)}, which runs the container with another runtime "
                 "than the grader's default (runc).")
        if _is_true(svc.get("oom_kill_disable")):
            flag("oom-kill-disable", "oom_kill_disable",
                 f"service '{name}' sets oom_kill_disable: true, which lets the container use up the host's memory "
                 "without being stopped.")
        score = svc.get("oom_score_adj")
        score_value: int | None = None
        if isinstance(score, int) and not isinstance(score, bool):
            score_value = score
        elif isinstance(score, str) and re.fullmatch(r"\s*-\s*\d+\s*", score):
            score_value = -1
        if score_value is not None and score_value < 0:
            flag("oom-score-adj", "oom_score_adj",
                 f"service '{name}' sets oom_score_adj: {_short(score)}, a negative value that makes the kernel kill "
                 "host processes before this container when memory runs out.")
        storage = svc.get("storage_opt")
        if isinstance(storage, (Mapping, list)) and storage:
            flag("storage-opt", "storage_opt",
                 f"service '{name}' sets storage_opt:, which changes the host's storage options for the container.")
        if _is_true(svc.get("use_api_socket")):
            flag("use-api-socket", "use_api_socket",
                 f"service '{name}' sets use_api_socket: true, which hands the container the Docker API socket and "
                 "credentials, i.e. control of the host.")
        provider = svc.get("provider")
        if isinstance(provider, Mapping):
            kind = provider.get("type")
            flag("provider", "provider",
                 f"service '{name}' uses provider:" + (f" (type '{_short(kind, 40)}')" if isinstance(kind, str) else "")
                 + ", which makes Compose run an external program on the grading machine instead of a container.")

        self.namespaces(name, svc, flag)
        self.volumes(name, svc)
        self.volumes_from(name, svc, flag)
        self.build(name, svc)
        self.service_files(name, svc)

    def namespaces(self, name: str, svc: Mapping, flag: Any) -> None:
        for key, what in NAMESPACE_KEYS.items():
            value = svc.get(key)
            if not isinstance(value, str) or self.deferred(value):
                continue
            mode = value.strip()
            lowered = mode.lower()
            if lowered == "host":
                flag("host-namespace", key,
                     f"service '{name}' sets {key}: host, which shares the host's {what} namespace with the container.",
                     detail=key)
            elif lowered.startswith("container:"):
                flag("host-namespace", key,
                     f"service '{name}' sets {key}: {_short(mode)}, which joins the {what} namespace of a container "
                     "outside this Compose project; use service:<name> for a service in your file.",
                     detail=key)
            elif lowered.startswith("service:"):
                target = mode.split(":", 1)[1].strip()
                if target not in self.services:
                    flag("host-namespace", key,
                         f"service '{name}' sets {key}: {_short(mode)}, but there is no service '{_short(target, 40)}' "
                         f"in this project, so it would join a {what} namespace outside it.",
                         detail=key)

    def volumes(self, name: str, svc: Mapping) -> None:
        volumes = svc.get("volumes")
        if not isinstance(volumes, list):
            return
        for i, entry in enumerate(volumes):
            source: Any = None
            target: Any = None
            if isinstance(entry, str):
                if self.deferred(entry):
                    continue
                spec = entry.strip()
                if _WINDOWS_DRIVE.match(spec):
                    parts = [spec[:2] + spec[2:].split(":", 1)[0]] + spec[2:].split(":")[1:]
                else:
                    parts = spec.split(":")
                if len(parts) < 2:
                    continue  # anonymous volume
                source, target = parts[0], parts[1]
                if not source or source[0] not in "./~" and not _WINDOWS_DRIVE.match(source):
                    continue  # a named volume
            elif isinstance(entry, Mapping):
                kind = entry.get("type")
                source, target = entry.get("source"), entry.get("target")
                if not isinstance(kind, str) or kind.strip().lower() not in ("bind", "npipe"):
                    continue
                if not isinstance(source, str) or not source.strip() or self.deferred(source):
                    continue
            else:
                continue
            if self.resolve(source) is not None:
                continue
            absolute = self.base_abs(source) if not source.startswith("~") else source
            target_text = f" at {_short(target, 60)}" if isinstance(target, str) and target else ""
            if absolute in DOCKER_SOCKETS or absolute.endswith("/docker.sock"):
                why = "the Docker socket, which gives the container control of the Docker engine and so of the host"
            elif source.startswith("~"):
                why = "a path in the grading machine's home directory, outside the submission folder"
            elif self.lexically_inside(source):
                why = "it leads outside the submission folder through a symbolic link"
            else:
                why = f"{_short(absolute, 80)} on the grading machine, outside the submission folder"
            self.add("bind-mount-outside", f"service:{name}", str(target) if target is not None else source,
                     ("services", name, "volumes"), self.iline(volumes, i, svc, "volumes"),
                     f"service '{name}' bind-mounts '{_short(source, 80)}'{target_text}: {why}; only paths inside "
                     "the submission (like ./data:/data) or named volumes may be mounted.")

    def volumes_from(self, name: str, svc: Mapping, flag: Any) -> None:
        entries = svc.get("volumes_from")
        if not isinstance(entries, list):
            return
        for i, entry in enumerate(entries):
            if isinstance(entry, str) and not self.deferred(entry) and entry.strip().lower().startswith("container:"):
                flag("volumes-from", "volumes_from",
                     f"service '{name}' sets volumes_from: {_short(entry)}, which mounts the volumes of a container "
                     "outside this Compose project.",
                     detail=entry.strip(), line=self.iline(entries, i, svc, "volumes_from"))

    def build(self, name: str, svc: Mapping) -> None:
        build = svc.get("build")
        subject = f"service:{name}"
        here = ("services", name, "build")
        if isinstance(build, str):
            self.build_context(name, build, key_line(svc, "build"), svc, "build")
            return
        if not isinstance(build, Mapping):
            return

        def flag(rule: str, key: str, message: str, detail: str | None = None, line: int | None = None) -> None:
            self.add(rule, subject, detail or key, here, line or self.kline(build, key), message)

        context = build.get("context", ".")
        context_dir = None
        if isinstance(context, str):
            context_dir = self.build_context(name, context, self.kline(build, "context") if "context" in build else key_line(svc, "build"), build, "context")
        dockerfile = build.get("dockerfile")
        if isinstance(dockerfile, str) and dockerfile.strip() and context_dir is not None and not self.deferred(dockerfile):
            if self.resolve(dockerfile, base=context_dir) is None:
                flag("build-context-outside", "dockerfile",
                     f"service '{name}' builds with dockerfile '{_short(dockerfile)}', "
                     f"{self.outside(dockerfile, context_dir)}; keep the Dockerfile inside your project.")
        extra = build.get("additional_contexts")
        pairs: list[tuple[str, Any, int | None]] = []
        if isinstance(extra, Mapping):
            pairs = [(_name(k), v, self.kline(extra, k)) for k, v in _items(extra)]
        elif isinstance(extra, list):
            for i, item in enumerate(extra):
                if isinstance(item, str) and "=" in item:
                    key, value = item.split("=", 1)
                    pairs.append((key, value, self.iline(extra, i, build, "additional_contexts")))
        for key, value, line in pairs:
            if not isinstance(value, str) or not value.strip() or self.deferred(value):
                continue
            ref = value.strip()
            if ref.lower().startswith(("service:", "target:")):
                continue
            if _is_remote(ref):
                flag("build-context-outside", "additional_contexts",
                     f"service '{name}' adds the build context '{key}' from '{_short(ref)}', a remote or image source; "
                     "build only from files in the submission.", detail=f"additional_contexts:{key}", line=line)
            elif self.resolve(ref) is None:
                flag("build-context-outside", "additional_contexts",
                     f"service '{name}' adds the build context '{key}' from '{_short(ref)}', {self.outside(ref)}; "
                     "build only from files in the submission.", detail=f"additional_contexts:{key}", line=line)

        if _nonempty(build.get("ssh")):
            flag("build-ssh", "ssh",
                 f"service '{name}' forwards SSH keys into the build with build.ssh, which would expose the grading "
                 "machine's SSH agent or keys.")
        if isinstance(build.get("secrets"), list) and build.get("secrets"):
            flag("build-secrets", "secrets",
                 f"service '{name}' passes secrets into the build with build.secrets, which the grader does not allow.")
        entitlements = build.get("entitlements")
        if isinstance(entitlements, list) and entitlements:
            flag("build-entitlements", "entitlements",
                 f"service '{name}' grants the build entitlements ({', '.join(_short(e, 30) for e in entitlements[:4])}) "
                 "with build.entitlements, which give build steps extra privileges on the host.")
        network = build.get("network")
        if isinstance(network, str) and network.strip().lower() == "host":
            flag("build-network-host", "network",
                 f"service '{name}' builds with build.network: host, which gives build steps the host's network.")
        if _is_true(build.get("privileged")):
            flag("build-privileged", "privileged",
                 f"service '{name}' sets build.privileged: true, which runs build steps with full privileges.")
        self.build_cache(name, build, flag)

    def build_context(self, name: str, context: str, line: int | None, parent: Any, key: str) -> str | None:
        """Check a build context; answer its absolute local path when it is inside, else None."""
        if self.deferred(context):
            return None
        ref = context.strip() or "."
        subject = f"service:{name}"
        if _is_remote(ref):
            self.add("build-context-outside", subject, "context", ("services", name, "build"), line,
                     f"service '{name}' builds from the remote context '{_short(ref)}'; build only from files in "
                     "the submission.")
            return None
        if self.resolve(ref) is None:
            self.add("build-context-outside", subject, "context", ("services", name, "build"), line,
                     f"service '{name}' builds from context '{_short(ref)}', {self.outside(ref)} "
                     "(the build would read files of the grading machine).")
            return None
        return self.base_abs(ref)

    def build_cache(self, name: str, build: Mapping, flag: Any) -> None:
        for key in ("cache_to", "cache_from"):
            entries = build.get(key)
            for i, entry in _as_str_list(entries):
                if self.deferred(entry):
                    continue
                fields = {}
                for part in entry.split(","):
                    if "=" in part:
                        k, v = part.split("=", 1)
                        fields[k.strip().lower()] = v.strip()
                kind = fields.get("type", "registry" if key == "cache_from" else "")
                line = self.iline(entries, i, build, key) if isinstance(entries, list) else self.kline(build, key)
                if key == "cache_to":
                    if kind.lower() == "inline":
                        continue
                    flag("build-cache", key,
                         f"service '{name}' exports the build cache with cache_to: {_short(entry)}, which would write it "
                         "to a registry (with the grading machine's credentials) or to a folder on the host; only "
                         "type=inline is allowed.",
                         detail=f"{key}:{i}", line=line)
                elif kind.lower() == "local":
                    src = fields.get("src", "")
                    if src and self.resolve(src) is None:
                        flag("build-cache", key,
                             f"service '{name}' reads the build cache from {_short(src)} (cache_from), "
                             f"{self.outside(src)}.", detail=f"{key}:{i}", line=line)
                elif kind.lower() != "registry":
                    flag("build-cache", key,
                         f"service '{name}' reads the build cache from a '{_short(kind, 20)}' store (cache_from), "
                         "which uses the grading machine's credentials.", detail=f"{key}:{i}", line=line)

    def service_files(self, name: str, svc: Mapping) -> None:
        subject = f"service:{name}"
        for key in ("env_file", "label_file"):
            value = svc.get(key)
            refs: list[tuple[int, Any]] = []
            if isinstance(value, str):
                refs = [(-1, value)]
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    refs.append((i, item.get("path") if isinstance(item, Mapping) else item))
            for i, ref in refs:
                if not isinstance(ref, str):
                    continue
                line = self.iline(value, i, svc, key) if i >= 0 else self.kline(svc, key)
                self.file_ref(subject, ("services", name, key), line, f"service '{name}' reads {key} '{_short(ref)}'", ref,
                              read_at_load=True, detail=f"{key}:{ref}")
        extends = svc.get("extends")
        if isinstance(extends, Mapping) and isinstance(extends.get("file"), str):
            self.file_ref(subject, ("services", name, "extends"), self.kline(extends, "file"),
                          f"service '{name}' extends a service from '{_short(extends.get('file'))}'", extends.get("file"),
                          read_at_load=True, detail="extends")
        develop = svc.get("develop")
        watch = develop.get("watch") if isinstance(develop, Mapping) else None
        if isinstance(watch, list):
            for i, rule in enumerate(watch):
                if isinstance(rule, Mapping) and isinstance(rule.get("path"), str):
                    self.file_ref(subject, ("services", name, "develop"), key_line(rule, "path") or self.iline(watch, i),
                                  f"service '{name}' watches '{_short(rule.get('path'))}' (develop.watch)", rule.get("path"),
                                  read_at_load=False, detail=f"watch:{i}")
        spec = svc.get("credential_spec")
        if isinstance(spec, Mapping) and isinstance(spec.get("file"), str):
            self.file_ref(subject, ("services", name, "credential_spec"), self.kline(spec, "file"),
                          f"service '{name}' reads credential_spec file '{_short(spec.get('file'))}'", spec.get("file"),
                          read_at_load=False, detail="credential_spec")

    def file_ref(self, subject: str, keypath: tuple[Any, ...], line: int | None, what: str, ref: str,
                 read_at_load: bool, detail: str | None) -> list[str]:
        """Check a reference to a host file; answer its real path(s) when it is local and inside.

        A file Compose reads while loading is checked against both the file's own folder and the
        project folder (they differ for included files), so neither reading can escape.
        """
        ref_text = ref.strip()
        if not ref_text:
            return []
        if self.raw and "$" in ref_text:
            if read_at_load:
                self.add("file-outside", subject, detail, keypath, line,
                         f"{what} through a variable, so the grader cannot check which file Compose would read; "
                         "write the path out (relative to your project).")
            return []  # otherwise judged by the model pass, interpolated
        if _is_remote(ref_text):
            self.add("file-outside", subject, detail, keypath, line,
                     f"{what}, which is remote; use only files inside the submission.")
            return []
        bases = [self.base]
        if read_at_load and str(self.own_dir) != str(self.base):
            bases.append(self.own_dir)
        reals: list[str] = []
        for base in bases:
            real = self.resolve(ref_text, base)
            if real is None:
                self.add("file-outside", subject, detail, keypath, line,
                         f"{what}, {self.outside(ref_text, base)}; use only files inside it.")
                return []
            if real not in reals:
                reals.append(real)
        return reals

    # -- top-level resources

    def _external_and_driver(self, resource: Mapping, subject: str, here: tuple[str, str], kind: str,
                             default_driver: str, external_message: str, driver_message: str) -> None:
        """A top-level volume or network: refused when external, or when it uses another driver."""
        external = resource.get("external")
        if _is_true(external) or isinstance(external, Mapping):
            self.add(f"external-{kind}", subject, None, here, self.kline(resource, "external"), external_message)
        driver = resource.get("driver")
        if isinstance(driver, str) and driver.strip() and driver.strip() != default_driver \
                and not self.deferred(driver):
            self.add(f"{kind}-driver", subject, "driver", here, self.kline(resource, "driver"),
                     driver_message.replace("{driver}", _short(driver, 40)))

    def volume(self, name: str, volume: Any) -> None:
        if not isinstance(volume, Mapping):
            return
        subject, here = f"volume:{name}", ("volumes", name)
        self._external_and_driver(
            volume, subject, here, "volume", "local",
            f"volume '{name}' is declared external: true, which attaches a volume that exists outside this "
            "project (possibly the grader's or another submission's data); let Compose create it.",
            f"volume '{name}' uses the volume driver '{{driver}}'; only the default local driver is allowed.")
        opts = volume.get("driver_opts")
        if isinstance(opts, Mapping) and opts:
            values = {_name(k).strip().lower(): v for k, v in _items(opts)}
            fs_type = str(values.get("type", "")).strip().lower()
            o = str(values.get("o", "")).lower()
            device = values.get("device")
            binds = any(part.strip() in ("bind", "rbind") for part in o.split(","))
            tmpfs_only = fs_type == "tmpfs" and (device is None or str(device).strip() == "tmpfs")
            if binds or not tmpfs_only:
                shown = ", ".join(f"{k}: {_short(v, 40)}" for k, v in values.items())
                self.add("volume-driver", subject, "driver_opts", here, self.kline(volume, "driver_opts"),
                         f"volume '{name}' sets driver_opts ({shown}), which mount a host path or device into the "
                         "volume (a bind mount in disguise); only plain named volumes or tmpfs options are allowed.")

    def network(self, name: str, network: Any) -> None:
        if not isinstance(network, Mapping):
            return
        subject, here = f"network:{name}", ("networks", name)
        self._external_and_driver(
            network, subject, here, "network", "bridge",
            f"network '{name}' is declared external: true, which attaches the containers to a network "
            "outside this project (such as the host network or another submission's); let Compose create it.",
            f"network '{name}' uses the network driver '{{driver}}' (e.g. host, macvlan, ipvlan "
            "put containers on the host's network); only bridge networks are allowed.")
        opts = network.get("driver_opts")
        if isinstance(opts, Mapping) and opts:
            self.add("network-driver", subject, "driver_opts", here, self.kline(network, "driver_opts"),
                     f"network '{name}' sets driver_opts, which can attach the network to the host's interfaces or "
                     "change how ports are published; remove them.")

    def secret(self, kind: str, name: str, entry: Any) -> None:
        if not isinstance(entry, Mapping):
            return
        singular = kind[:-1]
        subject = f"{singular}:{name}"
        here = (kind, name)
        env = entry.get("environment")
        if isinstance(env, str) and env.strip():
            self.add("secret-environment", subject, None, here, self.kline(entry, "environment"),
                     f"{singular} '{name}' takes its value from the grading machine's environment variable "
                     f"'{_short(env, 40)}' (environment:), which could hand the grader's own secrets to the container; "
                     "use file: or content: instead.")
        file = entry.get("file")
        if isinstance(file, str):
            self.file_ref(subject, here, self.kline(entry, "file"), f"{singular} '{name}' reads file '{_short(file)}'",
                          file, read_at_load=False, detail="file")


# --------------------------------------------------------------------------- raw documents


@dataclass
class _Doc:
    doc: LoadedYaml
    base: Path | str  # directory relative paths in it are resolved against


def _service_names(data: Any) -> set[str]:
    services = data.get("services") if isinstance(data, Mapping) else None
    return {_name(key) for key, _ in _items(services)}


def _raw_findings(docs: Iterable[Any], submission_root: Path) -> tuple[list[_Finding], list[_Doc]]:
    root = _Root.of(submission_root)
    out: list[_Finding] = []
    collected = _collect(docs, root, out)
    services: set[str] = set()
    for entry in collected:
        services |= _service_names(entry.doc.data)
    names = frozenset(services)
    for entry in collected:
        checker = _Checker(entry.doc.data, entry.doc, entry.base, root, names, out,
                           own_dir=_real_dir(entry.doc.path, root))
        checker.guard(entry.doc.display_name, "file", ("services",), checker.run)
    return out, collected


def _real_dir(path: Any, root: _Root) -> str:
    try:
        return os.path.realpath(os.path.dirname(os.path.abspath(str(path))))
    except (OSError, ValueError, TypeError):
        return root.real


def _collect(docs: Iterable[Any], root: _Root, out: list[_Finding]) -> list[_Doc]:
    """The given documents plus every local include/extends file they reach (each read once, capped)."""
    given = [doc for doc in (docs or []) if isinstance(doc, LoadedYaml)]
    if not given:
        return []
    main_base = _real_dir(given[0].path, root)
    queue: deque[tuple[_Doc, int]] = deque((_Doc(doc, main_base), 0) for doc in given)
    seen: set[str] = set()
    loaded = 0
    result: list[_Doc] = []
    while queue:
        entry, depth = queue.popleft()
        key = os.path.realpath(os.path.abspath(str(entry.doc.path))) if entry.doc.path else id(entry)
        if key in seen:
            continue
        seen.add(key)  # type: ignore[arg-type]
        result.append(entry)
        checker = _Checker(entry.doc.data, entry.doc, entry.base, root, frozenset(), out,
                           own_dir=_real_dir(entry.doc.path, root))
        for real, base, line in _references(checker):
            if real in seen or not os.path.isfile(real):
                continue  # already read, or missing: Compose reports a missing file itself
            display = root.display(real)
            if depth + 1 > MAX_INCLUDE_DEPTH or loaded >= MAX_INCLUDED_FILES:
                checker.add("file-unchecked", "file", display, ("include",), line,
                            f"'{display}' is referenced through more than {MAX_INCLUDE_DEPTH} levels of include/extends "
                            f"or after {MAX_INCLUDED_FILES} other files, so the grader will not check it; flatten your "
                            "Compose files.")
                continue
            try:
                doc = load_yaml(Path(real), display)
            except ComposeLoadError as exc:
                checker.add("file-unchecked", "file", display, ("include",), line,
                            f"'{display}' (referenced by {entry.doc.display_name}) cannot be checked: {exc.message}")
                continue
            except Exception as exc:  # noqa: BLE001 - never let a student's file crash the grader
                checker.add("file-unchecked", "file", display, ("include",), line,
                            f"'{display}' (referenced by {entry.doc.display_name}) cannot be checked ({type(exc).__name__}).")
                continue
            loaded += 1
            queue.append((_Doc(doc, base), depth + 1))
    return result


def _references(checker: _Checker) -> list[tuple[str, str, int | None]]:
    """Check the include/extends references of one document; answer (real path, base dir, line) of local ones."""
    data = checker.data
    found: list[tuple[str, str, int | None]] = []
    if not isinstance(data, Mapping):
        return found
    includes = data.get("include")
    if isinstance(includes, list):
        for i, item in enumerate(includes):
            line = checker.iline(includes, i, data, "include")
            paths: list[tuple[int, str]] = []
            env_files: list[tuple[int, str]] = []
            project_dir: Any = None
            holder: Any = None
            if isinstance(item, str):
                paths = [(-1, item)]
            elif isinstance(item, Mapping):
                holder = item
                paths = _as_str_list(item.get("path"))
                env_files = _as_str_list(item.get("env_file"))
                project_dir = item.get("project_directory")
            base: str | None = None
            if isinstance(project_dir, str) and project_dir.strip():
                pd_line = key_line(holder, "project_directory") or line
                real_pd = checker.file_ref("include", ("include",), pd_line,
                                           f"include sets project_directory '{_short(project_dir)}'", project_dir,
                                           read_at_load=True, detail=f"project_directory:{project_dir}")
                base = real_pd[0] if real_pd else None
            for j, env in env_files:
                env_line = (checker.iline(holder.get("env_file"), j) if j >= 0 else key_line(holder, "env_file")) or line
                checker.file_ref("include", ("include",), env_line, f"include reads env_file '{_short(env)}'", env,
                                 read_at_load=True, detail=f"env_file:{env}")
            for j, path in paths:
                path_line = line
                if holder is not None:
                    path_line = (checker.iline(holder.get("path"), j) if j >= 0 else key_line(holder, "path")) or line
                for real in checker.file_ref("include", ("include",), path_line, f"include reads '{_short(path)}'",
                                             path, read_at_load=True, detail=f"include:{path}"):
                    if base is None:
                        base = os.path.dirname(real)
                    found.append((real, base, path_line))
    for name, svc in _items(data.get("services")):
        extends = svc.get("extends") if isinstance(svc, Mapping) else None
        if isinstance(extends, Mapping) and isinstance(extends.get("file"), str):
            file = extends.get("file").strip()
            if not file or checker.deferred(file) or _is_remote(file):
                continue  # reported by the service check
            for base_dir in dict.fromkeys((str(checker.base), str(checker.own_dir))):
                real = _resolve_inside(file, base_dir, checker.root)
                if real is not None:
                    found.append((real, os.path.dirname(real), key_line(extends, "file")))
    return found


def _symlink_findings(submission_root: Path) -> list[_Finding]:
    root = _Root.of(submission_root)
    out: list[_Finding] = []
    seen = 0

    def ignore(_: OSError) -> None:
        return None

    for dirpath, dirnames, filenames in os.walk(root.real, followlinks=False, onerror=ignore):
        for entry in dirnames + filenames:
            seen += 1
            if seen > MAX_WALK_ENTRIES:
                return out
            path = os.path.join(dirpath, entry)
            try:
                if not os.path.islink(path):
                    continue
                target = os.readlink(path)
            except (OSError, ValueError):
                continue
            if _resolve_inside(path, root, root) is None:
                display = root.display(path)
                out.append(_Finding(f"symlink:{display}", None, (), PolicyViolation(
                    "symlink-outside",
                    f"'{display}' is a symbolic link to '{_short(target)}', which does not stay inside the "
                    "submission folder; the grader does not follow links out of a submission. Copy the file in instead.",
                    None,
                )))
    return out


# --------------------------------------------------------------------------- public API


def resolve_inside(path: str, submission_root: Path | str, base: Path | str | None = None) -> str | None:
    """The real path ``path`` names (relative to ``base``, default the submission) if it stays
    inside the submission; None when it, or a symbolic link on the way, leads outside."""
    root = _Root.of(submission_root)
    return _resolve_inside(path, root.real if base is None else base, root)



def check_documents(docs: list[LoadedYaml], submission_root: Path) -> list[PolicyViolation]:
    """Check the raw YAML of the Compose files (and the local files they include or extend)."""
    return [finding.violation for finding in _raw_findings(docs, submission_root)[0]]


def _model_findings(model: Any, submission_root: Path) -> list[_Finding]:
    root = _Root.of(submission_root)
    out: list[_Finding] = []
    if not isinstance(model, Mapping):
        return out
    services = frozenset(_service_names(model))
    checker = _Checker(model, None, root, root, services, out)
    checker.guard("the Compose model", "file", ("services",), checker.run)
    return out


def check_model(model: dict, submission_root: Path) -> list[PolicyViolation]:
    """Check the normalised model printed by ``docker compose config --format json``."""
    return [finding.violation for finding in _model_findings(model, submission_root)]


def check_symlinks(submission_root: Path) -> list[PolicyViolation]:
    """Symbolic links inside the submission that point outside it (never followed out)."""
    return [finding.violation for finding in _symlink_findings(submission_root)]


def _sort_key(violation: PolicyViolation) -> tuple[Any, ...]:
    loc = violation.location
    return (loc is None, loc.file if loc else "", loc.line if loc else 0, violation.rule, violation.message)


def _merge(findings: list[_Finding]) -> list[_Finding]:
    """One report per problem: the same rule on the same subject (and detail) once, located reports first."""
    groups: dict[tuple[str, str, str | None], list[_Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.violation.rule, finding.subject, finding.detail), []).append(finding)
    merged: list[_Finding] = []
    for group in groups.values():
        located = [f for f in group if f.violation.location is not None]
        keep = located or group[:1]
        seen: set[tuple[Any, ...]] = set()
        for finding in keep:
            key = (finding.violation.location, finding.violation.message) if located else ()
            if key in seen:
                continue
            seen.add(key)
            merged.append(finding)
    return merged


def _locate(finding: _Finding, docs: list[_Doc]) -> PolicyViolation:
    """Give a model-only finding the line of its key in the raw files (the deepest match wins)."""
    violation = finding.violation
    if violation.location is not None or not finding.keypath:
        return violation
    best: tuple[int, Location | None] = (0, None)
    for entry in docs:
        node: Any = entry.doc.data
        line: int | None = None
        depth = 0
        for key in finding.keypath:
            if not isinstance(node, Mapping) or key not in node:
                break
            line = key_line(node, key) or line
            node = node.get(key)
            depth += 1
        if line and depth > best[0]:
            best = (depth, entry.doc.location(line))
    if best[1] is None:
        return violation
    return PolicyViolation(violation.rule, violation.message, best[1])


def evaluate(docs: list[LoadedYaml], model: dict | None, submission_root: Path,
             allowed: frozenset[str] = frozenset()) -> list[PolicyViolation]:
    """All three passes, merged, minus the rules in ``allowed``, sorted by file and line."""
    allowed = frozenset(allowed or ())
    findings, collected = _raw_findings(docs or [], submission_root)
    if model is not None:
        findings += _model_findings(model, submission_root)
    findings += _symlink_findings(submission_root)
    findings = [f for f in findings if f.violation.rule not in allowed]
    result = [_locate(f, collected) for f in _merge(findings)]
    return sorted(result, key=_sort_key)
