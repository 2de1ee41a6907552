"""The safety rules as data: one entry per rule, what it looks at, what it says, how to fix it.

Every rule is judged on Compose's normalised model (``docker compose config`` of the files the
grader wrote), so the rules see exactly what the engine would be asked for. Most rules look at
one key of a service (or of its build, or of a top-level volume or network) and need only a
predicate; the path rules, which must resolve paths inside the submission, are in paths.py.
Whatever the rules let through is still cut down to the allowlist in grader/docker/bootfile.py.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

TRUE_STRINGS = frozenset({"true", "yes", "y", "on"})  # what Compose accepts as a true string

# Docker's default capability set: adding one of these back (after cap_drop: [ALL]) is harmless.
DEFAULT_CAPS = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "NET_RAW", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
ALLOWED_SECURITY_OPTS = frozenset({"no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"})


def is_true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in TRUE_STRINGS


def nonempty(value: Any) -> bool:
    """A set value that Compose would act on: a non-empty list/mapping or a non-blank string."""
    if isinstance(value, (list, tuple, Mapping)):
        return len(value) > 0
    return isinstance(value, str) and bool(value.strip())


def short(value: Any, limit: int = 80) -> str:
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Rule:
    """One safety rule. ``key`` is where it looks (a dotted path under the subject); ``offends``
    answers, for the value found there, what to quote in the message (None: fine)."""

    name: str
    summary: str                                   # for docs/policy.md and `policy.allow`
    scope: str = ""                                # "service", "build", "volume", "network", "secret"
    key: str = ""
    offends: Callable[[Any], Any] | None = None
    message: str = ""                              # {name}: the subject's name; {value}: what offends
    hint: str = ""
    where: Callable[[Any], tuple[Any, ...]] | None = None  # the offending part of the value, for its line


def _when(test: Callable[[Any], bool], shown: Callable[[Any], Any] = short) -> Callable[[Any], Any]:
    return lambda value: shown(value) if test(value) else None


def _extra_caps(value: Any) -> Any:
    caps = [c for c in value if isinstance(c, str) and c.strip().upper().removeprefix("CAP_") not in DEFAULT_CAPS] \
        if isinstance(value, list) else []
    return short(caps) if caps else None


def _weak_security_opts(value: Any) -> Any:
    opts = [o for o in value if isinstance(o, str) and o.strip().lower().replace(" ", "") not in ALLOWED_SECURITY_OPTS] \
        if isinstance(value, list) else []
    return short(opts) if opts else None


def _negative(value: Any) -> Any:
    try:
        return value if int(value) < 0 else None
    except (TypeError, ValueError):
        return None


def _privileged_hooks(value: Any) -> Any:
    return "privileged: true" if isinstance(value, list) and any(
        isinstance(hook, Mapping) and is_true(hook.get("privileged")) for hook in value) else None


def _privileged_watch(value: Any) -> Any:
    watch = value.get("watch") if isinstance(value, Mapping) else None
    return "exec with privileged: true" if isinstance(watch, list) and any(
        isinstance(rule, Mapping) and isinstance(rule.get("exec"), Mapping) and is_true(rule["exec"].get("privileged"))
        for rule in watch) else None


def _watch_where(value: Any) -> tuple[Any, ...]:
    watch = value.get("watch") if isinstance(value, Mapping) else None
    for index, rule in enumerate(watch if isinstance(watch, list) else []):
        if isinstance(rule, Mapping) and isinstance(rule.get("exec"), Mapping) and is_true(rule["exec"].get("privileged")):
            return ("watch", index, "exec", "privileged")
    return ()


def _not_inline_cache(value: Any) -> Any:
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    bad = [e for e in entries if isinstance(e, str) and "type=inline" not in e.replace(" ", "").lower()]
    return short(bad) if bad else None


def _host_cache_source(value: Any) -> Any:
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    bad = []
    for entry in entries:
        fields = dict(part.split("=", 1) for part in str(entry).split(",") if "=" in part)
        kind = fields.get("type", "registry").strip().lower()
        if kind != "registry":
            bad.append(entry)
    return short(bad) if bad else None


def _reserved_devices(value: Any) -> Any:
    resources = value.get("resources") if isinstance(value, Mapping) else None
    reservations = resources.get("reservations") if isinstance(resources, Mapping) else None
    devices = reservations.get("devices") if isinstance(reservations, Mapping) else None
    return "deploy.resources.reservations.devices" if nonempty(devices) else None


def _first(test: Callable[[Any], bool], *then: Any) -> Callable[[Any], tuple[Any, ...]]:
    """The keypath (within a list value) of the first item ``test`` accepts, then ``then``."""
    def where(value: Any) -> tuple[Any, ...]:
        items = value if isinstance(value, list) else []
        index = next((i for i, item in enumerate(items) if test(item)), None)
        return () if index is None else (index, *then)
    return where


def _extra_cap(item: Any) -> bool:
    return isinstance(item, str) and item.strip().upper().removeprefix("CAP_") not in DEFAULT_CAPS


def _weak_opt(item: Any) -> bool:
    return isinstance(item, str) and item.strip().lower().replace(" ", "") not in ALLOWED_SECURITY_OPTS


def _privileged_hook(item: Any) -> bool:
    return isinstance(item, Mapping) and is_true(item.get("privileged"))


def _show_devices(value: Any) -> str:
    shown = [f"{d.get('source')}:{d.get('target', d.get('source'))}" if isinstance(d, Mapping) else str(d)
             for d in (value if isinstance(value, list) else [value])]
    return short(shown)


def _other_driver(default: str) -> Callable[[Any], Any]:
    return lambda value: value if isinstance(value, str) and value.strip() and value.strip() != default else None


def _volume_driver_opts(value: Any) -> Any:
    if not isinstance(value, Mapping) or not value:
        return None
    values = {str(k).strip().lower(): v for k, v in value.items()}
    binds = any(part.strip() in ("bind", "rbind") for part in str(values.get("o", "")).lower().split(","))
    tmpfs = str(values.get("type", "")).strip().lower() == "tmpfs" and str(values.get("device", "tmpfs")).strip() == "tmpfs"
    return short(", ".join(f"{k}: {v}" for k, v in value.items())) if binds or not tmpfs else None


# Each rule that looks at one key. Order matters only for how reports list them.
KEY_RULES: tuple[Rule, ...] = (
    Rule("privileged", "privileged: true on a service, a post_start/pre_stop hook or a develop.watch exec (full control of the host)",
         "service", "privileged", _when(is_true, lambda _: "true"),
         "service '{name}' sets privileged: true, which gives the container full control of the host.",
         "Remove `privileged: true`: Redis and Flask need no extra privileges."),
    Rule("privileged", "", "service", "post_start", _privileged_hooks,
         "service '{name}' runs a post_start hook with privileged: true, which gives that command full control of the host.",
         "Remove the hook's `privileged: true` (the grader does not run lifecycle hooks anyway).",
         _first(_privileged_hook, "privileged")),
    Rule("privileged", "", "service", "pre_stop", _privileged_hooks,
         "service '{name}' runs a pre_stop hook with privileged: true, which gives that command full control of the host.",
         "Remove the hook's `privileged: true` (the grader does not run lifecycle hooks anyway).",
         _first(_privileged_hook, "privileged")),
    Rule("privileged", "", "service", "develop", _privileged_watch,
         "service '{name}' runs a develop.watch exec command with privileged: true, which gives that command full "
         "control of the host.", "Remove `privileged: true` from develop.watch.", _watch_where),
    Rule("cap-add", "cap_add with a capability beyond Docker's default set (e.g. SYS_ADMIN, NET_ADMIN, ALL)",
         "service", "cap_add", _extra_caps,
         "service '{name}' adds the capabilities {value} with cap_add, which let the container act on the host's "
         "kernel; only Docker's default capabilities (e.g. NET_BIND_SERVICE, CHOWN) may be added.",
         "Remove `cap_add:`; the assignment needs no extra capabilities.", _first(_extra_cap)),
    Rule("devices", "devices: maps host devices into the container", "service", "devices", _when(nonempty, _show_devices),
         "service '{name}' maps host devices into the container with devices: ({value}), which gives it direct "
         "access to the grading machine's hardware.", "Remove `devices:`."),
    Rule("device-cgroup-rules", "device_cgroup_rules: grants access to host devices", "service",
         "device_cgroup_rules", _when(nonempty),
         "service '{name}' sets device_cgroup_rules, which lets the container use host devices.",
         "Remove `device_cgroup_rules:`."),
    Rule("gpus", "gpus: or deploy.resources.reservations.devices: asks for host GPUs/devices", "service", "gpus",
         _when(nonempty, lambda _: "gpus"),
         "service '{name}' requests host GPUs with gpus:, which the grader does not give student containers.",
         "Remove `gpus:`."),
    Rule("gpus", "", "service", "deploy", _reserved_devices,
         "service '{name}' reserves host devices (GPUs) under deploy.resources.reservations.devices, which the "
         "grader does not give student containers.", "Remove the `devices:` reservation under `deploy:`.",
         lambda value: ("resources", "reservations", "devices")),
    Rule("security-opt", "security_opt other than no-new-privileges:true (e.g. seccomp/apparmor unconfined, label:disable)",
         "service", "security_opt", _weak_security_opts,
         "service '{name}' sets security_opt: {value}, which weakens the container's isolation from the host; only "
         "no-new-privileges:true is allowed.", "Remove `security_opt:` (or keep only no-new-privileges:true).",
         _first(_weak_opt)),
    Rule("sysctls", "sysctls: changes kernel parameters", "service", "sysctls", _when(nonempty),
         "service '{name}' sets kernel parameters with sysctls:, which the grader does not allow.",
         "Remove `sysctls:`."),
    Rule("cgroup-parent", "cgroup_parent: moves the container out of the grader's cgroup", "service",
         "cgroup_parent", _when(nonempty),
         "service '{name}' sets cgroup_parent: {value}, which moves the container out of the grader's resource limits.",
         "Remove `cgroup_parent:`."),
    Rule("cgroup", "cgroup: host shares the host's cgroup namespace", "service", "cgroup",
         _when(lambda v: isinstance(v, str) and v.strip().lower() == "host"),
         "service '{name}' sets cgroup: host, which shares the host's cgroup namespace with the container.",
         "Remove `cgroup: host`."),
    Rule("runtime", "runtime: other than runc", "service", "runtime", _other_driver("runc"),
         "service '{name}' sets runtime: {value}, which runs the container with another runtime than the grader's "
         "default (runc).", "Remove `runtime:`."),
    Rule("oom-kill-disable", "oom_kill_disable: true lets the container exhaust the host's memory", "service",
         "oom_kill_disable", _when(is_true, lambda _: "true"),
         "service '{name}' sets oom_kill_disable: true, which lets the container use up the host's memory without "
         "being stopped.", "Remove `oom_kill_disable:`."),
    Rule("oom-score-adj", "a negative oom_score_adj makes the kernel kill host processes first", "service",
         "oom_score_adj", _negative,
         "service '{name}' sets oom_score_adj: {value}, a negative value that makes the kernel kill host processes "
         "before this container when memory runs out.", "Remove `oom_score_adj:`."),
    Rule("storage-opt", "storage_opt: changes the host's storage driver options", "service", "storage_opt",
         _when(nonempty), "service '{name}' sets storage_opt:, which changes the host's storage options for the "
         "container.", "Remove `storage_opt:`."),
    Rule("use-api-socket", "use_api_socket: true hands the container the Docker API socket and credentials", "service",
         "use_api_socket", _when(is_true, lambda _: "true"),
         "service '{name}' sets use_api_socket: true, which hands the container the Docker API socket and "
         "credentials, i.e. control of the host.", "Remove `use_api_socket:`."),
    Rule("provider", "provider: makes Compose run an external program on the grading machine", "service", "provider",
         _when(lambda v: isinstance(v, Mapping), lambda v: v.get("type", "?")),
         "service '{name}' uses provider: (type '{value}'), which makes Compose run an external program on the "
         "grading machine instead of a container.", "Replace `provider:` with a container image."),
    Rule("volumes-from", "volumes_from: container:X mounts the volumes of a container outside the project", "service",
         "volumes_from", _when(lambda v: isinstance(v, list) and any(
             isinstance(e, str) and e.strip().lower().startswith("container:") for e in v)),
         "service '{name}' sets volumes_from: {value}, which mounts the volumes of a container outside this "
         "Compose project.", "Use `volumes_from: [<service>]` with a service of your own file, or a named volume.",
         _first(lambda e: isinstance(e, str) and e.strip().lower().startswith("container:"))),
    Rule("build-ssh", "build.ssh forwards the grading machine's SSH agent or keys into the build", "build", "ssh",
         _when(nonempty), "service '{name}' forwards SSH keys into the build with build.ssh, which would expose the "
         "grading machine's SSH agent or keys.", "Remove `ssh:` from `build:`."),
    Rule("build-secrets", "build.secrets passes secrets into the build", "build", "secrets", _when(nonempty),
         "service '{name}' passes secrets into the build with build.secrets, which the grader does not allow.",
         "Remove `secrets:` from `build:`."),
    Rule("build-entitlements", "build.entitlements grants the build extra privileges", "build", "entitlements",
         _when(nonempty), "service '{name}' grants the build entitlements ({value}) with build.entitlements, which "
         "give build steps extra privileges on the host.", "Remove `entitlements:` from `build:`."),
    Rule("build-network-host", "build.network: host gives build steps the host's network", "build", "network",
         _when(lambda v: isinstance(v, str) and v.strip().lower() == "host"),
         "service '{name}' builds with build.network: host, which gives build steps the host's network.",
         "Remove `network:` from `build:`."),
    Rule("build-privileged", "build.privileged: true runs build steps with full privileges", "build", "privileged",
         _when(is_true, lambda _: "true"),
         "service '{name}' sets build.privileged: true, which runs build steps with full privileges.",
         "Remove `privileged:` from `build:`."),
    Rule("build-cache", "build cache_to (except type=inline), or cache_from of a type other than registry", "build",
         "cache_to", _not_inline_cache,
         "service '{name}' exports the build cache with cache_to: {value}, which would write it to a registry (with "
         "the grading machine's credentials) or to a folder on the host; only type=inline is allowed.",
         "Remove `cache_to:` from `build:`.", _first(lambda e: "type=inline" not in str(e).replace(" ", "").lower())),
    Rule("build-cache", "", "build", "cache_from", _host_cache_source,
         "service '{name}' reads the build cache from {value} (cache_from), a store on the grading machine.",
         "Remove `cache_from:` from `build:`.", _first(lambda e: _host_cache_source([e]) is not None)),
    Rule("external-volume", "a volume declared external: true (data from outside the project)", "volume", "external",
         _when(lambda v: is_true(v) or isinstance(v, Mapping), lambda _: "true"),
         "volume '{name}' is declared external: true, which attaches a volume that exists outside this project "
         "(possibly the grader's or another submission's data); let Compose create it.", "Remove `external: true`."),
    Rule("volume-driver", "a named volume with a non-local driver, or driver_opts that mount a host path or device",
         "volume", "driver", _other_driver("local"),
         "volume '{name}' uses the volume driver '{value}'; only the default local driver is allowed.",
         "Remove `driver:` from the volume."),
    Rule("volume-driver", "", "volume", "driver_opts", _volume_driver_opts,
         "volume '{name}' sets driver_opts ({value}), which mount a host path or device into the volume (a bind "
         "mount in disguise); only plain named volumes or tmpfs options are allowed.",
         "Remove `driver_opts:` from the volume."),
    Rule("external-network", "a network declared external: true (e.g. the host network or another project's network)",
         "network", "external", _when(lambda v: is_true(v) or isinstance(v, Mapping), lambda _: "true"),
         "network '{name}' is declared external: true, which attaches the containers to a network outside this "
         "project (such as the host network or another submission's); let Compose create it.",
         "Remove `external: true`."),
    Rule("network-driver", "a network with a driver other than bridge, or with driver_opts", "network", "driver",
         _other_driver("bridge"),
         "network '{name}' uses the network driver '{value}' (e.g. host, macvlan, ipvlan put containers on the host's "
         "network); only bridge networks are allowed.", "Remove `driver:` from the network."),
    Rule("network-driver", "", "network", "driver_opts", _when(nonempty),
         "network '{name}' sets driver_opts, which can attach the network to the host's interfaces or change how "
         "ports are published; remove them.", "Remove `driver_opts:` from the network."),
    Rule("secret-environment", "a secret or config whose value comes from the grading machine's environment (environment:)",
         "secret", "environment", _when(nonempty),
         "{kind} '{name}' takes its value from the grading machine's environment variable '{value}' (environment:), "
         "which could hand the grader's own secrets to the container; use file: or content: instead.",
         "Use `file:` with a file in your submission."),
)

# Rules whose checks are not a single key: documented here, implemented in paths.py, namespaces.py
# and caps.py (and in the reading of the files, grader/submission/files.py).
OTHER_RULES: dict[str, str] = {
    "host-namespace": "pid/ipc/uts/userns_mode/network_mode set to host, container:X, or service:X for a service not in the project",
    "network-mode": "network_mode other than none or service:<a service of the project> (bridge or a named network joins containers outside the project)",
    "bind-mount-outside": "a bind mount whose source resolves outside the submission (absolute path, ~, .., the Docker socket)",
    "build-context-outside": "build context, dockerfile, .dockerignore or additional_contexts outside the submission, or remote (git, http(s), docker-image://, oci-layout://)",
    "file-outside": "env_file, label_file, secret/config file, extends.file, include path/env_file/project_directory outside the submission, remote, or (for files Compose reads while loading) written with a variable",
    "symlink-outside": "a file Compose or the build would read (.env, env_file, an include, .dockerignore) is a symbolic link leading outside the submission (links nothing follows are fine)",
    "file-unchecked": "a local include/extends file the grader cannot read safely (unsafe or invalid YAML, or past the nesting/count limit)",
    "too-many-services": "more services than the rubric's limits.max_services (default 10)",
    "too-many-ports": "more published ports than the rubric's limits.max_ports (default 20)",
    "check-failed": "the grader could not finish checking part of a file (it refuses rather than guess)",
}


def rule_summaries() -> dict[str, str]:
    """Every rule name with what it refuses, in the order reports and docs list them."""
    summaries: dict[str, str] = {}
    for rule in KEY_RULES:
        if rule.summary:
            summaries.setdefault(rule.name, rule.summary)
    summaries.update(OTHER_RULES)
    return summaries
