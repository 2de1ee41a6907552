"""Property tests for the safety policy and the boot file.

1. ``evaluate`` finishes on any model shape, failing closed (check-failed) where it cannot judge.
2. Adversarial Compose documents (known Compose keys incl. host-power ones, paths absolute, `..`,
   `~`, through links, interpolated) go through the real pipeline; Compose is the oracle: what it
   is given to load names no file outside the submission copy (a FIFO canary outside proves it
   never opened one), and when the policy lets a file through, `docker compose config` of the
   boot file the grader wrote holds only allowlisted keys and only paths the grader owns.
"""
from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from grader.docker.bootfile import REWRITTEN_KEYS, SERVICE_KEYS, BootPlan, dump_json, plan_boot
from grader.docker.compose import ComposeProject, detect_cli
from grader.grading.booting import written_keys
from grader.errors import ComposeLoadError
from grader.grading.loading import load_files, normalised_model
from grader.submission.paths import Root, resolve_in
from grader.policy import RULES, evaluate
from grader.policy.rules import ALLOWED_SECURITY_OPTS, DEFAULT_CAPS
from grader.results import PolicyViolation
from grader.rubric import Limits
from grader.docker.stack import copy_snapshot
from grader.submission.workspace import Workspace, workspace
from grader.yaml import LoadedYaml, load_documents, parse_yaml
from tests.test_policy_files import Canary, canary

# --------------------------------------------------------------------------- 1. any model shape

SERVICE_KEY_NAMES = [
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup", "cgroup_parent", "command",
    "configs", "container_name", "cpu_count", "cpus", "credential_spec", "depends_on", "deploy", "develop",
    "device_cgroup_rules", "devices", "dns", "entrypoint", "env_file", "environment", "expose", "extends",
    "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname", "image", "init", "ipc",
    "isolation", "label_file", "labels", "links", "logging", "mac_address", "mem_limit", "models", "network_mode",
    "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports", "post_start",
    "pre_stop", "privileged", "profiles", "provider", "pull_policy", "read_only", "restart", "runtime", "scale",
    "secrets", "security_opt", "shm_size", "stdin_open", "stop_grace_period", "storage_opt", "sysctls", "tmpfs",
    "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes", "volumes_from", "working_dir",
]
INNER_KEYS = [
    "type", "source", "target", "file", "service", "path", "privileged", "command", "external", "driver",
    "driver_opts", "o", "device", "environment", "name", "resources", "reservations", "devices", "watch",
    "content", "bind", "read_only", "limits", "memory", "cpus", "pids", "context", "dockerfile", "exec",
]
INTERESTING = st.sampled_from([
    "./data", "../x", "/etc", "/var/run/docker.sock", "~", "~/x", "${HOME}", "$X/y", "host", "service:a",
    "service:ghost", "container:b", "no-new-privileges:true", "seccomp:unconfined", "https://x/y.git",
    "docker-image://alpine", "compose.yaml", ".", "..", "", "a:b:c", "./data:/data", "/etc:/x:ro", "bridge",
    "~/.ssh:/k", "type=local,src=/tmp", "type=inline", "all", "true", "yes", "on", "-5", "runc", "bind", "none",
    "C:\\x:/y", "a\x00b", "SYS_ADMIN", "CHOWN", "name=../x", "x" * 300, "8000-9000:8000-9000",
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
KEYS = st.one_of(st.sampled_from(INNER_KEYS + SERVICE_KEY_NAMES), st.text(alphabet="abc_", min_size=1, max_size=5))


def _nest(inner: st.SearchStrategy) -> st.SearchStrategy:
    return _short_repr(st.one_of(SCALARS, st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)))


VALUES = _nest(_nest(_nest(SCALARS)))
SERVICE = _short_repr(st.one_of(VALUES, st.dictionaries(st.sampled_from(SERVICE_KEY_NAMES), VALUES, max_size=8)))
NAMES = st.one_of(st.sampled_from(["a", "b", "web", "redis"]), st.integers(min_value=0, max_value=3))
SECTION = _short_repr(st.dictionaries(st.sampled_from(["r1", "r2"]), VALUES, max_size=2))
# What Compose prints: a mapping of mappings (values of any shape within).
MODEL = _short_repr(st.fixed_dictionaries(
    {"services": st.dictionaries(NAMES, SERVICE, max_size=4)},
    optional={key: SECTION for key in ("volumes", "networks", "secrets", "configs")},
))
ANYTHING = _short_repr(st.one_of(VALUES, MODEL, st.fixed_dictionaries(
    {"services": VALUES}, optional={key: VALUES for key in ("volumes", "networks", "secrets", "configs")})))
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("submission")
    (folder / "data").mkdir()
    (folder / "etc").symlink_to("/etc")
    return folder


def _dump(data: Any) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return buffer.getvalue()


# Emitted but missing from RULES: a grader bug, test_policy.py::test_rules_lists_every_rule_the_policy_can_emit.
NAMED_RULES = set(RULES) | {"symlink-outside"}


def _valid(violations: object, failed_closed: bool = False) -> None:
    assert isinstance(violations, list)
    for violation in violations:
        assert isinstance(violation, PolicyViolation)
        assert violation.rule in NAMED_RULES
        assert isinstance(violation.message, str) and violation.message
        if not failed_closed:
            assert violation.rule != "check-failed", violation.message


@FAST
@given(model=MODEL)
def test_evaluate_judges_every_compose_shaped_model(root: Path, model: dict) -> None:
    """A mapping of mappings, whatever is inside (shapes Compose never prints included): judged,
    or refused as check-failed where a check cannot judge, never an exception."""
    _valid(evaluate(model, [], root), failed_closed=True)


@FAST
@given(model=MODEL)
def test_evaluate_locates_in_documents_of_the_same_shape(root: Path, model: dict) -> None:
    text = _dump(model)
    loaded = LoadedYaml(data=parse_yaml(text, "compose.yaml"), path=root / "compose.yaml",
                        display_name="compose.yaml", text=text)
    found = evaluate(model, [loaded], root, allowed=frozenset({"privileged"}))
    _valid(found, failed_closed=True)
    assert all(v.rule != "privileged" for v in found)
    assert all(v.location is None or v.location.file == "compose.yaml" for v in found)


@FAST
@given(model=ANYTHING)
def test_evaluate_fails_closed_on_anything(root: Path, model: Any) -> None:
    _valid(evaluate(model, [], root), failed_closed=True)


# --------------------------------------------------------------------------- 2. adversarial documents

ONE_OF = st.sampled_from
CANARY = "@CANARY@"  # the absolute path of a FIFO outside every submission
# Paths a student could write, in and out of the submission (see _submission for the tree).
PATHS = st.sampled_from([
    "./data", "data", "./data/../data", "data/file.env", "./sub", "sub/inner.env", ".", "..", "../x", "../../",
    "/etc", "/", "/var/run/docker.sock", "~/.ssh", "~", "out", "out/hosts", "up", "up/x", CANARY, "canary_link",
    "${SRC}", "${SRC:-./data}", "$HOME/x", "data/${SRC}",
])
YAML_PATHS = st.sampled_from(["sub/inner.yml", "./sub/inner.yml", "../inner.yml", CANARY, "canary_link",
                              "out/x.yml", "up/inner.yml", "${INC}", "https://example.com/x.git"])
MOUNTS = st.one_of(
    st.builds(lambda source, ro: f"{source}:/mnt/x{ro}", PATHS, st.sampled_from(["", ":ro", ":rw"])),
    st.sampled_from(["vol:/v", "/anonymous"]),
    st.fixed_dictionaries({"type": ONE_OF(["bind", "volume"]), "source": PATHS, "target": st.just("/mnt/y")},
                          optional={"read_only": st.booleans()}),
    st.just({"type": "tmpfs", "target": "/scratch", "tmpfs": {"size": 1024}}),
)
INCLUDES = st.one_of(YAML_PATHS, st.fixed_dictionaries({"path": YAML_PATHS}, optional={
    "env_file": PATHS, "project_directory": ONE_OF([".", "..", "sub", "out"])}))
# A context that interpolates to nothing is a known grader bug (planned as the grader's own working
# directory): tests/test_bootfile.py::test_a_build_without_context_builds_the_project_folder.
CONTEXTS = PATHS.filter(lambda path: path != "${SRC}")
BUILD = st.one_of(CONTEXTS, st.fixed_dictionaries({"context": CONTEXTS}, optional={
    "dockerfile": st.sampled_from(["Dockerfile", "../Dockerfile", "out/passwd", "canary_link", "/etc/passwd"]),
    "tags": st.just(["redis:alpine"]), "network": st.sampled_from(["host", "default", "none"]),
    "args": st.just({"A": "${SRC:-1}"}), "ssh": st.just(["default"]), "secrets": st.just(["s"]),
    "cache_to": st.just(["type=local,dest=/tmp/c"]), "additional_contexts": st.dictionaries(st.just("a"), PATHS),
    "privileged": st.just(True), "entitlements": st.just(["security.insecure"]), "target": st.just("final"),
}))
SERVICE_VALUES: dict[str, st.SearchStrategy] = {
    "privileged": ONE_OF([True, False, "${PRIV:-true}"]),
    "cap_add": st.lists(ONE_OF(["CHOWN", "SYS_ADMIN", "NET_ADMIN", "ALL", "CAP_SYS_PTRACE"]), min_size=1, max_size=2),
    "cap_drop": st.just(["ALL"]),
    "security_opt": st.lists(ONE_OF(["no-new-privileges:true", "seccomp:unconfined", "label:disable"]), min_size=1,
                             max_size=2),
    "volumes": st.lists(MOUNTS, min_size=1, max_size=3),
    "env_file": st.one_of(PATHS, st.lists(st.one_of(PATHS, st.fixed_dictionaries(
        {"path": PATHS, "required": st.just(False)})), min_size=1, max_size=2)),
    "label_file": PATHS,
    "extends": st.fixed_dictionaries({"file": YAML_PATHS, "service": st.just("inc")}),
    "build": BUILD,
    "network_mode": ONE_OF(["none", "host", "bridge", "service:other", "container:x", "some_net", "${MODE:-none}"]),
    "pid": ONE_OF(["host", "service:other", "container:x"]), "ipc": ONE_OF(["host", "private", "shareable"]),
    "uts": st.just("host"), "userns_mode": st.just("host"), "cgroup": ONE_OF(["host", "private"]),
    "cgroup_parent": st.just("/system.slice"), "devices": st.just(["/dev/null:/dev/null"]),
    "device_cgroup_rules": st.just(["c 1:3 mr"]), "sysctls": st.just({"net.core.somaxconn": 1024}),
    "ulimits": st.just({"nofile": 1024, "rtprio": 99}),
    "logging": st.just({"driver": "syslog", "options": {"syslog-address": "udp://192.0.2.1:514"}}),
    "post_start": ONE_OF([[{"command": "id"}], [{"command": "id", "privileged": True}]]),
    "pre_stop": st.just([{"command": "sleep 600"}]), "dns": st.just(["192.0.2.53"]),
    "mac_address": st.just("02:42:ac:11:00:02"), "extra_hosts": st.just(["gw:host-gateway"]),
    "runtime": ONE_OF(["runc", "sysbox-runc"]), "oom_kill_disable": st.just(True), "oom_score_adj": ONE_OF([-1000, 500]),
    "storage_opt": st.just({"size": "1G"}), "gpus": st.just("all"), "use_api_socket": st.just(True),
    "volumes_from": ONE_OF([["other"], ["container:x"]]),
    "ports": st.lists(ONE_OF(["6379:6379", "8000-8030:8000-8030", "127.0.0.1::6379", "5000"]), max_size=2),
    "expose": st.just(["5000"]), "tmpfs": st.just(["/tmp"]), "shm_size": st.just("64m"),
    "mem_limit": ONE_OF(["64m", "-1", "64g"]), "cpus": ONE_OF([0.25, 64]), "pids_limit": ONE_OF([-1, 16]),
    "memswap_limit": st.just("-1"), "mem_reservation": st.just("10m"), "cpu_shares": st.just(4096),
    "deploy": st.just({"resources": {"limits": {"memory": "8g"}}, "replicas": 2}),
    "user": st.just("0"), "working_dir": st.just("/app"), "hostname": st.just("h"), "read_only": st.just(True),
    "init": st.just(True), "tty": st.just(True), "container_name": st.just("fixed"), "restart": st.just("always"),
    "healthcheck": st.just({"test": ["CMD", "true"], "interval": "5s"}), "environment": st.just({"A": "${SRC:-x}"}),
    "labels": st.just({"l": "v"}), "entrypoint": st.just(["sh"]), "command": st.just(["sleep", "1"]),
    "secrets": st.just(["s"]), "configs": st.just(["c"]), "scale": st.just(1), "profiles": st.just(["extra"]),
    "develop": st.fixed_dictionaries({"watch": st.lists(st.fixed_dictionaries(
        {"path": PATHS, "action": st.just("sync"), "target": st.just("/app")}), min_size=1, max_size=1)}),
    "pull_policy": ONE_OF(["always", "missing", "build"]), "links": st.just(["other"]),
    "external_links": st.just(["x"]), "platform": st.just("linux/amd64"), "stop_signal": st.just("SIGTERM"),
    "group_add": st.just(["0"]), "x-note": st.just("hi"), "image": ONE_OF(["${IMG:-alpine}", "redis:alpine"]),
}
SERVICE_DOC = st.dictionaries(ONE_OF(sorted(SERVICE_VALUES)), st.just(None), max_size=4).flatmap(
    lambda keys: st.fixed_dictionaries({"image": st.just("alpine"), **{key: SERVICE_VALUES[key] for key in keys}}))
TOP_VALUES = {
    "volumes": st.fixed_dictionaries({"vol": ONE_OF([
        {}, {"driver": "local"}, {"driver": "rexray"}, {"external": True}, {"name": "fixed"},
        {"driver_opts": {"type": "none", "o": "bind", "device": "/etc"}},
        {"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}}])}),
    "networks": st.fixed_dictionaries({"some_net": ONE_OF([
        {}, {"driver": "macvlan"}, {"external": True}, {"driver_opts": {"parent": "eth0"}},
        {"ipam": {"config": [{"subnet": "172.31.0.0/16"}]}}, {"internal": False, "name": "fixed"}])}),
    "secrets": st.fixed_dictionaries({"s": st.one_of(st.fixed_dictionaries({"file": PATHS}),
                                                      st.just({"environment": "HOME"}))}),
    "configs": st.fixed_dictionaries({"c": st.one_of(st.fixed_dictionaries({"file": PATHS}),
                                                      st.just({"content": "x"}), st.just({"environment": "HOME"}))}),
}
DOCUMENT = st.fixed_dictionaries(
    {"services": st.fixed_dictionaries({"redis": SERVICE_DOC, "other": st.one_of(st.just({"image": "alpine"}),
                                                                                    SERVICE_DOC)}),
     **TOP_VALUES},
    optional={"include": st.lists(INCLUDES, min_size=1, max_size=2), "name": st.just("fixed"),
              "x-top": st.just({"a": 1})},
)
# The project's .env: variables for the interpolated paths (a .env that is itself a link out is a
# known grader bug, tests/test_policy_files.py::test_compose_never_reads_an_env_file_linked_out).
ENV = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
    "SRC": PATHS, "INC": YAML_PATHS, "PRIV": ONE_OF(["true", "false"]), "MODE": ONE_OF(["host", "none", "bridge"]),
    "IMG": ONE_OF(["alpine", "redis:alpine"]), "COMPOSE_PROJECT_NAME": st.just("fixed"),
    "COMPOSE_FILE": ONE_OF(["compose.yaml", "compose.yaml:sub/inner.yml", "../x.yml", "canary_link", CANARY]),
    "COMPOSE_PROFILES": st.just("extra"),
}))
# Bytes on which YAML parsers disagree, where they would hide a key of the redis service (and a
# carriage return, a line break for every parser, as a control: a key the policy must see).
HIDDEN = ONE_OF(["", "", "", "", "    # note\u2028    privileged: true\n", "    # x\x85    volumes: ['/:/host']\n",
                 "    # x\u2029    cap_add: [SYS_ADMIN]\n", "    # x\r    privileged: true\n"])
PIPELINE = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def outside() -> Iterator[Canary]:
    with tempfile.TemporaryDirectory(prefix="policy-outside-") as folder, canary(Path(folder) / "canary") as found:
        yield found


def _submission(folder: Path, document: dict, env: dict | None, hidden: str, outside: Canary) -> None:
    for sub in ("data", "sub"):
        (folder / sub).mkdir()
    (folder / "data" / "file.env").write_text("A=1\n")
    (folder / "sub" / "inner.env").write_text("B=2\n")
    (folder / "sub" / "inner.yml").write_text("services:\n  inc:\n    image: alpine\n")
    (folder / "Dockerfile").write_text("FROM alpine\n")
    (folder / "out").symlink_to("/etc")
    (folder / "up").symlink_to("..")
    (folder / "canary_link").symlink_to(outside.path)
    text = _dump(document).replace(CANARY, str(outside.path))
    (folder / "compose.yaml").write_text(text.replace("\n  redis:\n", "\n  redis:\n" + hidden, 1), newline="")
    if env is not None:
        (folder / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()).replace(CANARY, str(outside.path)))


def _inside(path: str, base: str, root: Root) -> bool:
    return isinstance(path, str) and "$" not in path and resolve_in(path, base, root) is not None


def _references(document: LoadedYaml) -> Iterator[str]:
    """Every path in a written file that Compose opens while loading."""
    data = document.data
    for entry in data.get("include") or [] if isinstance(data.get("include"), list) else []:
        spec = {"path": entry} if isinstance(entry, str) else entry if isinstance(entry, dict) else {}
        for key in ("path", "env_file"):
            value = spec.get(key)
            yield from [value] if isinstance(value, str) else value if isinstance(value, list) else []
    services = data.get("services") if isinstance(data.get("services"), dict) else {}
    for service in services.values():
        if not isinstance(service, dict):
            continue
        for key in ("env_file", "label_file"):
            value = service.get(key)
            for item in value if isinstance(value, list) else [value] if value is not None else []:
                yield item.get("path") if isinstance(item, dict) else item
        extends = service.get("extends")
        if isinstance(extends, dict) and "file" in extends:
            yield extends["file"]


def _check_what_compose_loads(files: Any, space: Workspace) -> None:
    root = Root.of(space.source_copy)
    for real, written in files.written.items():
        assert _inside(real, str(space.source_copy), root), real
        if real.endswith((".yml", ".yaml")):
            for document in load_documents(Path(real), written.display_name):
                for ref in _references(document):
                    assert _inside(ref, os.path.dirname(real), root), (written.display_name, ref)


# Keys Compose's model holds that the student need not have written: its normalisation.
COMPOSE_ADDS = frozenset({"command", "entrypoint", "networks", "environment", "labels", "depends_on"})


def _check_one_reading(config: dict, documents: list[LoadedYaml]) -> None:
    """Every key Compose acts on is one the grader read: no byte hid a key from the grader."""
    read = set(COMPOSE_ADDS)
    for document in documents:
        services = document.data.get("services")
        for service in services.values() if isinstance(services, dict) else []:
            read |= set(service) if isinstance(service, dict) else set()
    for name, service in config["services"].items():
        assert set(service) <= read, (name, set(service) - read)


def _check_plan(plan: BootPlan, space: Workspace) -> None:
    root = Root.of(space.source_copy)
    for snapshot, source in plan.binds.items():
        assert Path(snapshot).parent == space.root / "binds"
        assert _inside(source, str(space.project_dir), root), source
    for spec in plan.builds.values():  # build.py hands these to `docker build` as they are
        assert os.path.isabs(spec.context) and _inside(spec.context, str(space.project_dir), root), spec
        assert spec.dockerfile is None or _inside(spec.dockerfile, spec.context, root), spec


def _check_what_compose_boots(seen: dict, plan: BootPlan) -> None:
    assert set(seen) <= {"name", "services", "networks", "volumes", "secrets", "configs"}, set(seen)
    for name, service in seen["services"].items():
        assert set(service) <= SERVICE_KEYS | REWRITTEN_KEYS, (name, set(service) - SERVICE_KEYS - REWRITTEN_KEYS)
        assert "build" not in service and not service.get("privileged")
        assert {c.upper().removeprefix("CAP_") for c in service.get("cap_add") or []} <= DEFAULT_CAPS
        assert {o.replace(" ", "").lower() for o in service.get("security_opt") or []} <= ALLOWED_SECURITY_OPTS
        for key in ("network_mode", "pid", "ipc"):
            mode = str(service.get(key) or "none")
            assert mode in ("none", "private", "shareable") or mode.removeprefix("service:") in seen["services"], mode
        assert not any(str(v).startswith("container:") for v in service.get("volumes_from") or [])
        for mount in service.get("volumes") or []:
            assert mount["type"] in ("volume", "bind", "tmpfs"), mount
            assert mount["type"] != "bind" or mount["source"] in plan.binds, mount
        assert service.get("ports", []) == []  # nothing listens on the host (not published mode)
        if name in plan.built_images:
            assert service["image"] == plan.built_images[name] and service["pull_policy"] == "never"
        assert service.get("pull_policy") in (None, "missing", "never", "if_not_present")
    for network in seen.get("networks", {}).values():
        assert network.get("internal") is True and not network.get("external"), network
        assert network.get("driver", "bridge") == "bridge" and not network.get("driver_opts"), network
        assert not (network.get("ipam") or {}).get("config"), network
    for volume in seen.get("volumes", {}).values():
        assert not volume.get("external") and volume.get("driver", "local") == "local", volume
        assert (volume.get("driver_opts") or {}).get("type", "tmpfs") == "tmpfs", volume
    for kind in ("secrets", "configs"):
        for entry in seen.get(kind, {}).values():
            assert "environment" not in entry and ("file" not in entry or entry["file"] in plan.binds), entry


def _grade_until_boot(folder: Path) -> str:
    """The grading's steps up to `up`, checking each; returns how far the submission got."""
    with workspace(folder) as space:
        try:
            files = load_files(space)
        except ComposeLoadError as exc:
            return "unreadable: " + exc.message[:60]
        _check_what_compose_loads(files, space)
        project = ComposeProject(detect_cli(), "grader-property", space.project_dir, tuple(files.files), profiles=("*",))
        try:
            model = normalised_model(project, files, space)
        except ComposeLoadError as exc:
            return "rejected by compose: " + exc.message[:70]
        _check_one_reading(model.config, files.documents)
        violations = evaluate(model.config, files.documents, space.source_copy, refusals=files.refusals)
        _valid(violations)
        if violations:
            return "refused: " + ",".join(sorted({v.rule for v in violations}))
        (space.root / "binds").mkdir()
        plan = plan_boot(model.config, project=project.name, run_id="property", limits=Limits(), probe_ports={},
                         snapshot_root=space.root / "binds", services=list(model.services),
                         written=written_keys(files.documents))
        _check_plan(plan, space)
        for snapshot, source in plan.binds.items():
            copy_snapshot(Path(source), Path(snapshot))
        boot = dump_json(plan, space.root / "boot.json")
        (space.root / "boot.env").write_text("")
        seen = project.with_files([boot], env_file=space.root / "boot.env").config()
        note(f"boot file as Compose reads it: {seen}")
        _check_what_compose_boots(seen, plan)
        return "booted"


CLEAN = {"services": {"redis": {"image": "alpine", "volumes": ["./data:/mnt/x:ro", "vol:/v"], "build": ".",
                                "secrets": ["s"], "configs": ["c"], "env_file": "data/file.env",
                                "ulimits": {"nofile": 1024}, "logging": {"driver": "syslog"}},
                      "other": {"image": "alpine", "network_mode": "service:redis", "extends":
                                {"file": "sub/inner.yml", "service": "inc"}}},
         "volumes": {"vol": {"driver_opts": {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}}},
         "networks": {"some_net": {"ipam": {"config": [{"subnet": "172.31.0.0/16"}]}}},
         "secrets": {"s": {"file": "./data/file.env"}}, "configs": {"c": {"content": "x"}},
         "include": ["sub/inner.yml"]}


@PIPELINE
@example(document=CLEAN, env={"SRC": "./data"}, hidden="")
@example(document={**CLEAN, "secrets": {"s": {"file": "${SRC}"}}}, env={"SRC": "canary_link"}, hidden="")
@example(document={**CLEAN, "include": ["canary_link", CANARY]}, env=None, hidden="# note\u2028privileged: true\n")
@given(document=DOCUMENT, env=ENV, hidden=HIDDEN)
def test_compose_is_given_only_what_the_policy_judged(outside: Canary, document: dict, env: dict | None,
                                                     hidden: str) -> None:
    with tempfile.TemporaryDirectory(prefix="policy-property-") as folder:
        _submission(Path(folder), document, env, hidden, outside)
        outcome = _grade_until_boot(Path(folder))
    event(outcome)
    assert not outside.opened, "something opened the canary outside the submission"
