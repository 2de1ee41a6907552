"""Property tests: the policy never raises and never fails to finish, whatever shape a Compose file has."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from grader.policy import RULES, check_documents, check_model, evaluate
from grader.results import PolicyViolation
from grader.yamlload import LoadedYaml, parse_yaml

SERVICE_KEYS = [
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent", "command",
    "configs", "container_name", "cpu_count", "cpus", "credential_spec", "depends_on", "deploy", "develop",
    "device_cgroup_rules", "devices", "dns", "entrypoint", "env_file", "environment", "expose", "extends",
    "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname", "image", "init", "ipc",
    "isolation", "label_file", "labels", "links", "logging", "mem_limit", "models", "network_mode", "networks",
    "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start", "pre_stop",
    "privileged", "profiles", "provider", "pull_policy", "read_only", "restart", "runtime", "scale", "secrets",
    "security_opt", "shm_size", "stdin_open", "stop_grace_period", "storage_opt", "sysctls", "tmpfs", "tty",
    "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from", "working_dir",
]
BUILD_KEYS = [
    "additional_contexts", "args", "cache_from", "cache_to", "context", "dockerfile", "dockerfile_inline",
    "entitlements", "extra_hosts", "isolation", "labels", "network", "no_cache", "platforms", "privileged",
    "provenance", "pull", "sbom", "secrets", "shm_size", "ssh", "tags", "target", "ulimits",
]
INNER_KEYS = [
    "type", "source", "target", "file", "service", "path", "privileged", "command", "external", "driver",
    "driver_opts", "o", "device", "environment", "name", "resources", "reservations", "devices", "watch",
    "project_directory", "env_file", "content", "bind", "read_only",
]
TOP_KEYS = ["include", "volumes", "networks", "secrets", "configs", "models", "name", "version", "x-base"]

INTERESTING = st.sampled_from([
    "./data", "../x", "/etc", "/var/run/docker.sock", "~", "~/x", "${HOME}", "$X/y", "host", "service:a",
    "service:ghost", "container:b", "no-new-privileges:true", "seccomp:unconfined", "https://x/y.git",
    "docker-image://alpine", "compose.yaml", "inc.yml", ".", "..", "", "a:b:c", "./data:/data", "/etc:/x:ro",
    "~/.ssh:/k", "type=local,src=/tmp", "type=inline", "all", "true", "yes", "on", "-5", "runc", "bind",
    "C:\\x:/y", "a\x00b", "SYS_ADMIN", "CHOWN", "name=../x", "x" * 300,
])
def _short_repr(strategy: st.SearchStrategy) -> st.SearchStrategy:
    """The same values, behind a one-word repr: Hypothesis warns when a strategy's repr passes 100 kB."""

    @st.composite
    def drawn(draw: st.DrawFn) -> object:
        return draw(strategy)

    return drawn()


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**6, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32), INTERESTING,
    st.text(alphabet="./~$:{}-_ abcxyz0\\", max_size=12),
)
KEYS = st.one_of(st.sampled_from(INNER_KEYS + SERVICE_KEYS[:10]), st.text(alphabet="abc_", min_size=1, max_size=5))


def _nest(inner: st.SearchStrategy) -> st.SearchStrategy:
    return _short_repr(st.one_of(SCALARS, st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)))


# Three levels of lists and mappings.
VALUES = _nest(_nest(_nest(SCALARS)))
# Plausible shapes for the keys the policy reads, so the generated files reach deep into every check.
TRUTHY = _short_repr(st.one_of(st.booleans(), st.sampled_from(["true", "yes", "on", "no", "${P}", "1"]), SCALARS))
STRINGS = _short_repr(st.one_of(INTERESTING, st.lists(INTERESTING, max_size=3)))
MOUNT = _short_repr(st.fixed_dictionaries(
    {"type": st.sampled_from(["bind", "volume", "npipe", "tmpfs", "image", "BIND", 3])},
    optional={"source": SCALARS, "target": SCALARS, "bind": VALUES},
))
HOOK = _short_repr(st.fixed_dictionaries({"command": SCALARS}, optional={"privileged": TRUTHY}))
FILE_REF = _short_repr(st.one_of(INTERESTING, st.fixed_dictionaries({}, optional={"path": SCALARS, "required": TRUTHY})))
BUILD_VALUES = {
    "context": SCALARS, "dockerfile": SCALARS, "privileged": TRUTHY, "network": SCALARS,
    "additional_contexts": st.one_of(st.dictionaries(st.sampled_from(["a", "b"]), SCALARS, max_size=3),
                                     st.lists(INTERESTING, max_size=3)),
    "ssh": STRINGS, "secrets": STRINGS, "entitlements": STRINGS, "cache_from": STRINGS, "cache_to": STRINGS,
}
BUILDS = _short_repr(st.one_of(
    VALUES,
    INTERESTING,
    st.fixed_dictionaries({}, optional={key: st.one_of(strategy, VALUES) for key, strategy in BUILD_VALUES.items()}),
))
SERVICE_VALUES = {
    "privileged": TRUTHY, "oom_kill_disable": TRUTHY, "use_api_socket": TRUTHY,
    "cap_add": STRINGS, "security_opt": STRINGS, "devices": st.lists(st.one_of(INTERESTING, MOUNT), max_size=3),
    "device_cgroup_rules": STRINGS, "gpus": st.one_of(STRINGS, st.lists(VALUES, max_size=2)),
    "sysctls": VALUES, "storage_opt": VALUES, "cgroup_parent": SCALARS, "cgroup": INTERESTING,
    "runtime": INTERESTING, "oom_score_adj": st.one_of(st.integers(-1000, 1000), INTERESTING),
    "network_mode": INTERESTING, "pid": INTERESTING, "ipc": INTERESTING, "uts": INTERESTING,
    "userns_mode": INTERESTING, "volumes_from": STRINGS,
    "volumes": st.lists(st.one_of(INTERESTING, MOUNT, SCALARS), max_size=4),
    "post_start": st.lists(st.one_of(HOOK, SCALARS), max_size=2), "pre_stop": st.lists(HOOK, max_size=2),
    "env_file": st.one_of(INTERESTING, st.lists(FILE_REF, max_size=3)), "label_file": STRINGS,
    "extends": st.one_of(INTERESTING, st.fixed_dictionaries({"service": SCALARS}, optional={"file": SCALARS})),
    "develop": st.fixed_dictionaries({"watch": st.lists(st.fixed_dictionaries({"path": SCALARS}), max_size=2)}),
    "deploy": st.fixed_dictionaries({"resources": st.fixed_dictionaries(
        {"reservations": st.fixed_dictionaries({"devices": st.lists(VALUES, max_size=2)})})}),
    "provider": st.one_of(st.fixed_dictionaries({"type": SCALARS}), SCALARS),
    "credential_spec": st.fixed_dictionaries({}, optional={"file": SCALARS}),
    "build": BUILDS,
}
SERVICES = _short_repr(st.one_of(
    VALUES,
    st.dictionaries(st.sampled_from(SERVICE_KEYS), VALUES, max_size=8),
    st.fixed_dictionaries({}, optional={
        key: st.one_of(strategy, VALUES) if key != "build" else strategy for key, strategy in SERVICE_VALUES.items()
    }),
))
RESOURCE = _short_repr(st.fixed_dictionaries({}, optional={
    "driver": st.one_of(INTERESTING, st.sampled_from(["local", "bridge", "macvlan"])), "external": TRUTHY,
    "driver_opts": st.one_of(VALUES, st.fixed_dictionaries({}, optional={"type": INTERESTING, "o": INTERESTING,
                                                                         "device": INTERESTING})),
    "file": SCALARS, "environment": SCALARS, "name": SCALARS,
}))
RESOURCES = _short_repr(st.one_of(VALUES, st.dictionaries(st.sampled_from(["r1", "r2"]), st.one_of(RESOURCE, VALUES), max_size=2)))
INCLUDE = _short_repr(st.one_of(VALUES, st.lists(st.one_of(INTERESTING, st.fixed_dictionaries({}, optional={
    "path": STRINGS, "env_file": STRINGS, "project_directory": SCALARS})), max_size=3)))
TOP_VALUES = {"include": INCLUDE, "volumes": RESOURCES, "networks": RESOURCES, "secrets": RESOURCES,
              "configs": RESOURCES}
NAMES = st.one_of(st.sampled_from(["a", "b", "web", "redis"]), st.integers(min_value=0, max_value=3))
_COMPOSE = st.fixed_dictionaries(
    {"services": st.one_of(st.dictionaries(NAMES, SERVICES, max_size=4), VALUES)},
    optional={key: TOP_VALUES.get(key, VALUES) for key in TOP_KEYS},
)

COMPOSE = _short_repr(_COMPOSE)
ANYTHING = _short_repr(st.one_of(VALUES, _COMPOSE))

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("submission")
    (folder / "data").mkdir()
    (folder / "inc.yml").write_text("services:\n  inc:\n    image: x\n    privileged: true\n")
    (folder / "etc").symlink_to("/etc")
    return folder


def _dump(data: dict) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


def _valid(violations: object) -> None:
    assert isinstance(violations, list)
    for violation in violations:
        assert isinstance(violation, PolicyViolation)
        assert violation.rule in RULES
        assert violation.rule != "check-failed", violation.message
        assert isinstance(violation.message, str) and violation.message


@FAST
@given(model=COMPOSE)
def test_check_model_never_raises(root: Path, model: dict) -> None:
    _valid(check_model(model, root))


@FAST
@given(model=ANYTHING)
def test_check_model_accepts_anything(root: Path, model: object) -> None:
    _valid(check_model(model, root))  # type: ignore[arg-type]


@FAST
@given(data=COMPOSE)
def test_check_documents_never_raises(root: Path, data: dict) -> None:
    text = _dump(data)
    loaded = LoadedYaml(data=parse_yaml(text, "compose.yaml"), path=root / "compose.yaml",
                        display_name="compose.yaml", text=text)
    _valid(check_documents([loaded], root))
    _valid(evaluate([loaded], data, root, allowed=frozenset({"privileged"})))
