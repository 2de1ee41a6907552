"""The hostile corpus (tests/hostile/policy-*, canary-*): one submission per safety-policy rule,
each graded through the CLI against a real Docker engine.

Every case must be refused before anything is built, pulled or started: the exact rule (and
only the expected rules) in the JSON's "policy", a message naming the key, its file:line where
the file has one, every runtime check skipped with "refused by safety policy: <rule>", the
static checks still run, exit code 1, no traceback, nothing left behind in Docker and the
submission folder unchanged. The canary cases prove that no container ever started: they
bind-mount a fresh host folder and would write into it; it must stay empty. A positive
control (the same kind of file, with the rule allowed by a rubric) shows that the canary
does catch a container that starts.

The helpers here (grading through the CLI, fingerprints, the leak watch) are shared with
tests/test_bad_input.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.policy import RULES
from grader.submission.workspace import process_alive

REPO = Path(__file__).resolve().parent.parent
HOSTILE = REPO / "tests" / "hostile"
RUNTIME_CHECKS = ("stack-up", "redis-ping", "student-name", "persistence")
STATIC_CHECKS = ("redis-image", "redis-port", "named-volume")
OWNER_LABEL = "org.compose-grader.owner"
WORKERS = 4  # gradings at once: the engine copes, and the suite stays well under its time budget

pytestmark = pytest.mark.docker


# --------------------------------------------------------------------------- shared helpers


@dataclass
class Graded:
    """One run of `python -m grader.cli check`."""

    code: int
    result: dict
    output: str          # stdout + stderr
    duration_s: float
    pid: int

    def check(self, check_id: str) -> dict:
        return next(c for c in self.result["checks"] if c["id"] == check_id)

    @property
    def statuses(self) -> dict[str, str]:
        return {c["id"]: c["status"] for c in self.result["checks"]}

    @property
    def rules(self) -> list[str]:
        return [v["rule"] for v in self.result["policy"]]


GRADER_PIDS: set[int] = set()  # every grader process these tests started (the leak watch looks for their labels)
_PIDS_LOCK = threading.Lock()


def grade(submission: Path, out: Path, *extra: str, timeout: float = 600) -> Graded:
    """Grade ``submission`` with the CLI, as a user would; the JSON result goes to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / f"{submission.name}-{time.monotonic_ns()}.json"
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "grader.cli", "check", str(submission), "--json", str(json_path), "--no-html", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
        env={**os.environ, "COLUMNS": "200"},
    )
    with _PIDS_LOCK:
        GRADER_PIDS.add(process.pid)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"grading {submission.name} did not finish within {timeout} s:\n{stderr[-3000:]}")
    duration = time.monotonic() - started
    output = stdout + stderr
    assert json_path.is_file(), f"no JSON result for {submission.name} (exit {process.returncode}):\n{output[-3000:]}"
    return Graded(process.returncode, json.loads(json_path.read_text()), output, duration, process.pid)


def fingerprint(root: Path) -> str:
    """Kind, mode, size, mtime and (for small regular files) content of every entry, never
    following links or opening FIFOs: any write to the submission changes it."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            info = path.lstat()
            digest.update(f"{path.relative_to(root)}|{info.st_mode}|{info.st_size}|{info.st_mtime_ns}".encode())
            if stat.S_ISLNK(info.st_mode):
                digest.update(os.readlink(path).encode())
            elif stat.S_ISREG(info.st_mode) and info.st_size <= 1 << 20:
                try:
                    digest.update(path.read_bytes())
                except PermissionError:  # chmod 000, when not root: mode and mtime still count
                    digest.update(b"unreadable")
    return digest.hexdigest()


def copy_case(name: str, target_root: Path) -> Path:
    """A private copy of a corpus case (links kept as links)."""
    target = target_root / name
    shutil.copytree(HOSTILE / name, target, symlinks=True)
    return target


def assert_clean_output(graded: Graded) -> None:
    assert "Traceback" not in graded.output, graded.output[-4000:]
    assert not [c for c in graded.result["checks"] if c["status"] == "error"], \
        json.dumps([c for c in graded.result["checks"] if c["status"] == "error"], indent=1)


# -- the leak watch

_KINDS = {
    "container": (["ps", "-a", "--format", "{{.ID}}\t{{.Names}}"], ["inspect", "--format", "{{json .Config.Labels}}"]),
    "volume": (["volume", "ls", "--format", "{{.Name}}\t{{.Name}}"], ["volume", "inspect", "--format", "{{json .Labels}}"]),
    "network": (["network", "ls", "--format", "{{.ID}}\t{{.Name}}"], ["network", "inspect", "--format", "{{json .Labels}}"]),
    "image": (["image", "ls", "--format", "{{.ID}}\t{{.Repository}}:{{.Tag}}"],
              ["image", "inspect", "--format", "{{json .Config.Labels}}"]),
}


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)
    return done.stdout


def grader_named() -> dict[str, set[tuple[str, str]]]:
    """(id, name) of every container, volume, network and image whose name contains 'grader-'."""
    found: dict[str, set[tuple[str, str]]] = {}
    for kind, (listing, _) in _KINDS.items():
        rows = [line.split("\t", 1) for line in _docker(*listing).splitlines() if "\t" in line]
        # the build cache (compose-grader-cache:*) is kept on purpose; `grader clean --build-cache` removes it
        found[kind] = {(key, name) for key, name in rows if "grader-" in name and not name.startswith("compose-grader-cache:")}
    return found


def _labels(kind: str, key: str) -> dict[str, str]:
    try:
        return json.loads(_docker(*_KINDS[kind][1], key) or "null") or {}
    except json.JSONDecodeError:
        return {}




def leaked_since(before: dict[str, set[tuple[str, str]]], our_pids: set[int]) -> list[str]:
    """What appeared since ``before`` and was not removed: added 'grader-' resources, except those
    that belong to a grading still running in another process (other sessions share the engine)."""
    host = socket.gethostname()
    leaks = []
    for kind, now in grader_named().items():
        for key, name in sorted(now - before.get(kind, set())):
            owner = _labels(kind, key).get(OWNER_LABEL, "")
            owner_host, _, owner_pid = owner.rpartition(":")
            foreign_and_running = (owner_host == host and owner_pid.isdigit() and int(owner_pid) not in our_pids
                                   and process_alive(int(owner_pid)))
            if not foreign_and_running:
                leaks.append(f"{kind} {name} (owner {owner or 'unlabelled'})")
    return leaks


@pytest.fixture(scope="module")
def leak_watch() -> Iterator[None]:
    """Nothing the module's gradings created may remain once they are done."""
    before = grader_named()
    yield
    deadline = time.monotonic() + 10  # removal is asynchronous in the engine for a moment
    while True:
        leaks = leaked_since(before, set(GRADER_PIDS))
        if not leaks or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert not leaks, f"left behind: {leaks}"


def grade_all(jobs: dict[str, Callable[[], Graded]], workers: int = WORKERS) -> dict[str, Graded | BaseException]:
    """Run the gradings ``jobs`` several at once; a job's exception is kept as its result."""
    def run(job: Callable[[], Graded]) -> Graded | BaseException:
        try:
            return job()
        except BaseException as exc:  # noqa: BLE001 - reported by the test that reads it
            return exc

    with ThreadPoolExecutor(workers) as pool:
        futures = {name: pool.submit(run, job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def result_of(results: dict[str, Graded | BaseException], name: str) -> Graded:
    value = results[name]
    if isinstance(value, BaseException):
        raise value
    return value


# --------------------------------------------------------------------------- the policy table


@dataclass(frozen=True)
class PolicyCase:
    name: str                   # folder under tests/hostile
    rules: frozenset[str]       # exactly the rules the JSON's "policy" must list
    fragment: str               # in the message of the violation of the first rule
    line: int | None            # its line in `file` (None: the rule has no line)
    compose_ok: bool = True     # False: Compose rejects what is left of the file
    prepare: Callable[[Path], None] | None = field(default=None, compare=False)
    file: str = "docker-compose.yml"


def _link_notes_to_passwd(folder: Path) -> None:
    (folder / "notes.txt").symlink_to("/etc/passwd")


def case(name: str, rule: str, fragment: str, line: int | None, compose_ok: bool = True,
         prepare: Callable[[Path], None] | None = None, file: str = "docker-compose.yml") -> PolicyCase:
    return PolicyCase(name, frozenset({rule}), fragment, line, compose_ok, prepare, file)


POLICY_CASES = [
    case("policy-privileged", "privileged", "sets privileged: true", 8),
    case("policy-privileged-hook", "privileged", "runs a post_start hook with privileged: true", 10),
    case("policy-cap-add", "cap-add", "adds the capabilities SYS_ADMIN with cap_add", 9),
    case("policy-devices", "devices", "maps host devices into the container with devices: (/dev/sda:/dev/sda)", 8),
    case("policy-device-cgroup-rules", "device-cgroup-rules", "sets device_cgroup_rules", 8),
    case("policy-gpus", "gpus", "requests host GPUs with gpus:", 8),
    case("policy-gpus-deploy", "gpus", "reserves host devices (GPUs) under deploy.resources.reservations.devices", 11),
    case("policy-security-opt-seccomp", "security-opt", "sets security_opt: seccomp=unconfined", 9),
    case("policy-security-opt-apparmor", "security-opt", "sets security_opt: apparmor=unconfined", 10),
    case("policy-sysctls", "sysctls", "sets kernel parameters with sysctls:", 8),
    case("policy-cgroup-parent", "cgroup-parent", "sets cgroup_parent: /system.slice", 8),
    case("policy-cgroup-host", "cgroup", "sets cgroup: host", 8),
    case("policy-runtime", "runtime", "sets runtime: sysbox-runc", 8),
    case("policy-oom-kill-disable", "oom-kill-disable", "sets oom_kill_disable: true", 8),
    case("policy-oom-score-adj", "oom-score-adj", "sets oom_score_adj: -1000", 8),
    case("policy-storage-opt", "storage-opt", "sets storage_opt:", 8),
    case("policy-use-api-socket", "use-api-socket", "sets use_api_socket: true", 8),
    case("policy-provider", "provider", "service 'tunnel' uses provider: (type 'awesomecloud')", 9),
    case("policy-network-mode-host", "host-namespace", "sets network_mode: host", 8),
    case("policy-pid-host", "host-namespace", "sets pid: host", 8),
    case("policy-ipc-host", "host-namespace", "sets ipc: host", 8),
    case("policy-uts-host", "host-namespace", "sets uts: host", 8),
    case("policy-userns-host", "host-namespace", "sets userns_mode: host", 8),
    case("policy-network-mode-container", "host-namespace", "sets network_mode: container:some_other_container", 8),
    case("policy-network-mode-bridge", "network-mode", "sets network_mode: bridge, which attaches it to a network "
         "outside this Compose project", 7),
    case("policy-too-many-services", "too-many-services", "the project defines 11 services; the grader boots at "
         "most 10", 4),
    case("policy-too-many-ports", "too-many-ports", "the services publish 1002 ports", 5),
    case("policy-bind-docker-sock", "bind-mount-outside", "bind-mounts '/var/run/docker.sock' at "
         "/var/run/docker.sock: the Docker socket", 8),
    case("policy-bind-root", "bind-mount-outside", "bind-mounts '/' at /host: / on the grading machine", 8),
    case("policy-bind-etc-long", "bind-mount-outside", "bind-mounts '/etc' at /host-etc: /etc on the grading machine", 8),
    case("policy-bind-dotdot", "bind-mount-outside", "bind-mounts '../..' at /data", 7),
    case("policy-bind-home", "bind-mount-outside", "bind-mounts '~/.ssh' at /keys: a path in the grading machine's "
         "home directory", 7),
    case("policy-volumes-from", "volumes-from", "sets volumes_from: container:other_app", 9),
    case("policy-volume-driver-opts", "volume-driver", "sets driver_opts (type: none, o: bind, device: /etc)", 12),
    case("policy-volume-driver", "volume-driver", "uses the volume driver 'rexray/ebs'", 11),
    case("policy-external-volume", "external-volume", "volume 'redis_data' is declared external: true", 11),
    case("policy-external-network", "external-network", "network 'shared' is declared external: true", 16),
    case("policy-network-driver", "network-driver", "uses the network driver 'macvlan'", 16),
    case("policy-build-context-outside", "build-context-outside", "builds from context '../..', which is outside "
         "the submission folder", 9),
    case("policy-build-dockerfile-outside", "build-context-outside", "builds with dockerfile '../../etc/Dockerfile', "
         "which is outside", 11),
    case("policy-build-additional-contexts", "build-context-outside", "adds the build context 'secrets' from '/root'", 12),
    case("policy-build-context-git", "build-context-outside", "builds from the remote context "
         "'https://github.com/someone/app.git#main'", 9),
    case("policy-build-context-http", "build-context-outside", "builds from the remote context "
         "'http://example.com/context.tar.gz'", 9),
    case("policy-build-cache-to", "build-cache", "exports the build cache with cache_to: type=local,dest=/tmp/cache", 12),
    case("policy-build-ssh", "build-ssh", "forwards SSH keys into the build with build.ssh", 11),
    case("policy-build-secrets", "build-secrets", "passes secrets into the build with build.secrets", 11),
    case("policy-build-entitlements", "build-entitlements", "grants the build entitlements (security.insecure)", 11),
    case("policy-build-network-host", "build-network-host", "builds with build.network: host", 11),
    case("policy-build-privileged", "build-privileged", "sets build.privileged: true", 11),
    case("policy-env-file-outside", "file-outside", "reads env_file '/etc/environment', which is outside the "
         "submission folder", 9),
    case("policy-env-file-variable", "file-outside", "reads env_file '${HOME}/.env' through a variable", 8,),
    case("policy-label-file-outside", "file-outside", "reads label_file '../../labels.txt', which is outside", 8,),
    case("policy-include-outside", "file-outside", "include reads '../../other/compose.yaml', which is outside", 2,),
    case("policy-include-remote", "file-outside", "include reads 'oci://docker.io/someone/stack:latest', which is "
         "remote", 2),
    # the refused extends is removed, and what is left of the service has no image: Compose rejects it
    case("policy-extends-outside", "file-outside", "extends a service from '/etc/compose/common.yml', which is "
         "outside", 10, compose_ok=False),
    case("policy-secret-file-outside", "file-outside", "secret 'host_key' reads file '/etc/ssh/ssh_host_rsa_key', "
         "which is outside", 16),
    case("policy-secret-environment", "secret-environment", "secret 'token' takes its value from the grading "
         "machine's environment variable 'GITHUB_TOKEN'", 16),
    case("policy-config-environment", "secret-environment", "config 'settings' takes its value from the grading "
         "machine's environment variable 'AWS_SECRET_ACCESS_KEY'", 16),
    # located in the file that holds the problem: the included file, at the line the alias bomb is refused
    case("policy-include-unchecked", "file-unchecked", "'extra.yml' (included by docker-compose.yml) cannot be "
         "checked: extra.yml expands to more than 100,000 YAML nodes", 5, file="extra.yml"),
    case("policy-symlink-outside", "symlink-outside", "reads env_file 'notes.txt', which leads outside the "
         "submission folder through a symbolic link", 8, prepare=_link_notes_to_passwd),
]
# Rules no file can trigger: check-failed is the grader refusing when its own check breaks.
UNEXPRESSIBLE = {"check-failed"}


@dataclass(frozen=True)
class CanaryCase:
    name: str
    rules: frozenset[str]
    link: str | None = None     # a symbolic link to the canary to make in the submission


CANARY_CASES = [
    CanaryCase("canary-bind", frozenset({"privileged", "host-namespace", "bind-mount-outside"})),
    CanaryCase("canary-symlink", frozenset({"bind-mount-outside"}), link="shared"),
    CanaryCase("canary-env-file", frozenset({"file-outside", "bind-mount-outside"})),
]


def make_canary() -> Path:
    return Path(tempfile.mkdtemp(prefix="grader-canary-"))


def prepare_canary_case(name: str, target_root: Path, canary: Path, link: str | None = None) -> Path:
    folder = copy_case(name, target_root)
    compose = folder / "docker-compose.yml"
    compose.write_text(compose.read_text().replace("@CANARY@", str(canary)))
    if link:
        (folder / link).symlink_to(canary)
    return folder


@dataclass
class Prepared:
    folder: Path
    before: str
    canary: Path | None = None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, docker_engine: None,
           leak_watch: None) -> Iterator[dict[str, tuple[Prepared, Graded | BaseException]]]:
    """Every policy and canary case, prepared in a private folder and graded (several at once)."""
    root = tmp_path_factory.mktemp("hostile")
    out = tmp_path_factory.mktemp("hostile-json")
    prepared: dict[str, Prepared] = {}
    for item in POLICY_CASES:
        folder = copy_case(item.name, root)
        if item.prepare:
            item.prepare(folder)
        prepared[item.name] = Prepared(folder, fingerprint(folder))
    for item in CANARY_CASES:
        canary = make_canary()
        folder = prepare_canary_case(item.name, root, canary, item.link)
        prepared[item.name] = Prepared(folder, fingerprint(folder), canary)
    try:
        results = grade_all({name: (lambda p=p: grade(p.folder, out)) for name, p in prepared.items()})
        yield {name: (prepared[name], results[name]) for name in prepared}
    finally:
        for p in prepared.values():
            if p.canary:
                shutil.rmtree(p.canary, ignore_errors=True)


def assert_refused(graded: Graded, rules: frozenset[str], compose_ok: bool) -> None:
    """The common contract of a refused submission."""
    assert_clean_output(graded)
    assert graded.code == 1, graded.output[-2000:]
    assert set(graded.rules) == set(rules), json.dumps(graded.result["policy"], indent=1)
    first = graded.result["policy"][0]
    for check_id in RUNTIME_CHECKS:
        runtime = graded.check(check_id)
        assert runtime["status"] == "skipped", runtime
        assert runtime["message"].startswith(f"refused by safety policy: {first['rule']}"), runtime["message"]
        if first["location"]:
            where = f"{first['location']['file']}:{first['location']['line']}"
            assert runtime["message"] == f"refused by safety policy: {first['rule']} at {where}"
    compose_file = graded.check("compose-file")
    if compose_ok:
        assert compose_file["status"] == "passed", compose_file
        for check_id in STATIC_CHECKS:  # they ran: judged, not skipped
            assert graded.check(check_id)["status"] in ("passed", "failed"), graded.check(check_id)
    else:
        assert compose_file["status"] == "failed", compose_file
    assert graded.result["passed"] is False


# --------------------------------------------------------------------------- tests


def test_every_rule_has_a_case() -> None:
    covered = set().union(*(item.rules for item in POLICY_CASES))
    assert set(RULES) - UNEXPRESSIBLE <= covered, f"rules without a case: {sorted(set(RULES) - UNEXPRESSIBLE - covered)}"
    assert covered <= set(RULES), f"cases for unknown rules: {sorted(covered - set(RULES))}"
    on_disk = {path.name for path in HOSTILE.iterdir() if path.name.startswith("policy-")}
    assert on_disk == {item.name for item in POLICY_CASES}, "every policy-* folder has a row in the table"


@pytest.mark.parametrize("item", POLICY_CASES, ids=lambda item: item.name)
def test_policy_case_is_refused(item: PolicyCase, corpus: dict) -> None:
    prepared, graded = corpus[item.name]
    graded = graded if isinstance(graded, Graded) else pytest.fail(f"grading raised {graded!r}")
    assert_refused(graded, item.rules, item.compose_ok)
    (rule,) = item.rules
    violation = next(v for v in graded.result["policy"] if v["rule"] == rule)
    assert item.fragment in violation["message"], violation["message"]
    expected_location = {"file": item.file, "line": item.line} if item.line else None
    assert violation["location"] == expected_location, violation
    assert fingerprint(prepared.folder) == prepared.before, "the grader wrote into the submission folder"
    assert graded.duration_s < 60


@pytest.mark.parametrize("item", CANARY_CASES, ids=lambda item: item.name)
def test_canary_stays_empty(item: CanaryCase, corpus: dict) -> None:
    prepared, graded = corpus[item.name]
    graded = graded if isinstance(graded, Graded) else pytest.fail(f"grading raised {graded!r}")
    assert_refused(graded, item.rules, compose_ok=True)
    assert prepared.canary is not None and prepared.canary.is_dir()
    assert list(prepared.canary.iterdir()) == [], "a container started and wrote into the canary folder"
    assert fingerprint(prepared.folder) == prepared.before
    assert graded.duration_s < 60


def test_canary_catches_a_container_that_starts(docker_engine: None, leak_watch: None, tmp_path: Path) -> None:
    """The positive control: allowed by the rubric, the same kind of stack starts and writes the canary."""
    canary = make_canary()
    try:
        folder = prepare_canary_case("canary-control", tmp_path, canary)
        rubric = tmp_path / "allow.yml"
        rubric.write_text("policy:\n  allow: [bind-mount-outside]\n")
        graded = grade(folder, tmp_path / "out", "--rubric", str(rubric))
        assert_clean_output(graded)
        assert graded.rules == []
        assert graded.check("stack-up")["status"] == "passed", graded.check("stack-up")
        assert [path.name for path in canary.iterdir()] == ["pwned"], "the control container did not write the canary"
    finally:
        shutil.rmtree(canary, ignore_errors=True)


def test_the_leak_watch_sees_a_leftover(docker_engine: None) -> None:
    """The watch itself works: an unlabelled 'grader-' volume made after the snapshot is reported."""
    before = grader_named()
    name = f"grader-leakwatch-selftest-{os.getpid()}"
    subprocess.run(["docker", "volume", "create", name], check=True, capture_output=True, timeout=60)
    try:
        assert any(name in leak for leak in leaked_since(before, set()))
    finally:
        subprocess.run(["docker", "volume", "rm", "-f", name], capture_output=True, timeout=60, check=False)
    assert not any(name in leak for leak in leaked_since(before, set()))
