"""What the Docker engine is really given (issue 9): each class of attack that once reached the
engine, graded through the CLI against a real engine, asserting on `docker inspect` of the
running stack (recorded by tests/data/engine_view while the checks run), not on the grader's plan.

- parser disagreement: bytes go-yaml reads as line breaks are refused, before Compose sees anything;
- keys no rule names (ulimits, logging, hooks, ipam, static addresses, build.tags, build.network):
  dropped, listed as ignored, absent from the engine's view, and no image tag but the grader's;
- a bind source swapped for a link to a host folder: the host folder stays empty;
- a Redis service that builds its own server: no Redis points;
- builds under a memory limit; networks internal, nothing published, limits on every container.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_hostile_corpus import (
    HOSTILE,
    Graded,
    assert_clean_output,
    copy_case,
    fingerprint,
    grade,
    leak_watch,  # noqa: F401 - a fixture
)

REPO = Path(__file__).resolve().parent.parent
ENGINE_VIEW_CHECK = REPO / "tests" / "data" / "engine_view"
REDIS_RUNTIME = ("redis-ping", "student-name", "persistence")

pytestmark = pytest.mark.docker


def rubric(folder: Path, text: str = "") -> Path:
    path = folder / "rubric.yml"
    path.write_text(f"extra_checks: [{ENGINE_VIEW_CHECK}]\n" + text)
    return path


def grade_with_view(submission: Path, tmp: Path, extra_rubric: str = "") -> tuple[Graded, dict]:
    """Grade through the CLI; return the result and what the engine was given while the stack ran."""
    view_file = tmp / f"view-{submission.name}.json"
    os.environ["GRADER_TEST_ENGINE_VIEW"] = str(view_file)
    try:
        graded = grade(submission, tmp / "out", "--rubric", str(rubric(tmp, extra_rubric)))
    finally:
        os.environ.pop("GRADER_TEST_ENGINE_VIEW", None)
    assert view_file.is_file(), graded.check("engine-view")
    return graded, json.loads(view_file.read_text())


def image_id(reference: str) -> str:
    done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", reference],
                          capture_output=True, text=True, timeout=60)
    return done.stdout.strip()


def service_of(container: dict) -> str:
    return container["Config"]["Labels"]["com.docker.compose.service"]


# --------------------------------------------------------------------------- keys no rule names


def test_unlisted_keys_never_reach_the_engine(docker_engine: None, leak_watch: None, tmp_path: Path) -> None:
    shared_images = {ref: image_id(ref) for ref in ("redis:alpine", "python:3.11-slim")}
    folder = copy_case("contain-unlisted-keys", tmp_path)
    graded, view = grade_with_view(folder, tmp_path)
    assert_clean_output(graded)
    for check_id in ("stack-up", "redis-ping", "persistence", "flask-counter"):
        assert graded.check(check_id)["status"] == "passed", graded.check(check_id)
    assert graded.duration_s < 150, "a post_start hook of `sleep 600` was not run"
    containers = {service_of(c): c for c in view["containers"]}
    assert set(containers) == {"redis", "web"}
    for container in containers.values():
        host = container["HostConfig"]
        assert not host.get("Ulimits"), host.get("Ulimits")
        assert host["LogConfig"]["Type"] == "json-file", host["LogConfig"]
        assert not host.get("Dns"), host.get("Dns")
        for network in container["NetworkSettings"]["Networks"].values():
            assert not network["IPAddress"].startswith("10.123."), network["IPAddress"]
            assert not (network.get("IPAMConfig") or {}).get("IPv4Address"), network
    for network in view["networks"]:
        assert network["Internal"] is True, network["Name"]
        subnets = [config.get("Subnet") for config in network["IPAM"]["Config"] or []]
        assert "10.123.0.0/24" not in subnets, subnets
    assert containers["web"]["Config"]["Image"].endswith("-web:grader")
    # build.tags never wrote into the shared image store
    assert {ref: image_id(ref) for ref in shared_images} == shared_images
    ignored = {(item["key"], item["subject"]): item for item in graded.result["ignored"]}
    for key, subject, line in [("ulimits", "service 'redis'", 9), ("logging", "service 'redis'", 12),
                               ("post_start", "service 'redis'", 16), ("pre_stop", "service 'redis'", 18),
                               ("dns", "service 'redis'", 20), ("networks.back.ipv4_address", "service 'redis'", 23),
                               ("build.tags", "service 'web'", 27), ("build.network", "service 'web'", 28),
                               ("ipam", "network 'back'", 36)]:
        item = ignored.get((key, subject))
        assert item is not None, (key, sorted(ignored))
        assert item["location"] == {"file": "docker-compose.yml", "line": line}, item
        assert item["reason"]


# --------------------------------------------------------------------------- paths that change after the check


def test_a_bind_source_swapped_for_a_link_mounts_nothing_from_the_host(docker_engine: None, leak_watch: None,
                                                                        tmp_path: Path) -> None:
    canary = Path(tempfile.mkdtemp(prefix="grader-canary-"))
    try:
        folder = copy_case("contain-bind-swap", tmp_path)
        compose = folder / "docker-compose.yml"
        compose.write_text(compose.read_text().replace("@CANARY@", str(canary)))
        before = fingerprint(folder)
        graded, view = grade_with_view(folder, tmp_path)
        assert_clean_output(graded)
        # the stack went down and came up again (persistence), so the swapped source was mounted anew
        assert graded.check("persistence")["status"] == "passed", graded.check("persistence")
        assert list(canary.iterdir()) == [], "a host folder was mounted through the swapped link"
        assert fingerprint(folder) == before, "the submission folder was written to"
        redis, = view["containers"]
        binds = {m["Destination"]: m["Source"] for m in redis["Mounts"] if m["Type"] == "bind"}
        assert set(binds) == {"/x", "/inner"}
        for source in binds.values():  # the grader's own copies, never the submission or the canary
            assert "/binds/" in source and str(canary) not in source and str(folder) not in source, source
    finally:
        shutil.rmtree(canary, ignore_errors=True)


# --------------------------------------------------------------------------- grading integrity


def test_a_redis_service_that_builds_its_own_server_earns_no_redis_points(docker_engine: None, leak_watch: None,
                                                                          tmp_path: Path) -> None:
    folder = copy_case("contain-fake-redis", tmp_path)
    graded = grade(folder, tmp_path / "out")
    assert_clean_output(graded)
    image = graded.check("redis-image")
    assert image["status"] == "failed" and "builds its own image" in image["message"], image
    assert image["location"] == {"file": "docker-compose.yml", "line": 6}
    assert "without `build:`" in image["hint"]
    for check_id in REDIS_RUNTIME:
        check = graded.check(check_id)
        assert check["status"] == "skipped", check
        assert "awards no Redis runtime points" in check["message"], check
    assert graded.check("stack-up")["status"] == "passed"  # it did build and run: only the points are withheld


# --------------------------------------------------------------------------- builds under limits


def test_a_build_step_is_held_to_the_build_memory_limit(docker_engine: None, leak_watch: None, tmp_path: Path) -> None:
    dangling_before = set(_dangling_images())
    base = image_id("python:3.11-slim")
    folder = copy_case("contain-build-oom", tmp_path)
    graded = grade(folder, tmp_path / "out")
    assert_clean_output(graded)
    stack_up = graded.check("stack-up")
    assert stack_up["status"] == "failed", stack_up
    assert "exit code 137" in stack_up["message"], stack_up["message"]  # killed by the memory limit
    assert graded.check("redis-ping")["status"] == "passed"  # the rest of the stack still ran
    assert set(_dangling_images()) <= dangling_before, "the failed build left image layers behind"
    assert image_id("python:3.11-slim") == base, "removing the failed build's layers took its FROM image too"


def _dangling_images() -> list[str]:
    done = subprocess.run(["docker", "image", "ls", "-q", "--filter", "dangling=true"],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


# --------------------------------------------------------------------------- the engine's view of a normal stack


def test_the_engine_gets_internal_networks_limits_and_no_host_ports(docker_engine: None, leak_watch: None,
                                                                    tmp_path: Path) -> None:
    folder = copy_case_from_samples("perfect", tmp_path)
    graded, view = grade_with_view(folder, tmp_path)
    assert graded.result["score"] >= 14, graded.result
    assert view["networks"] and all(network["Internal"] for network in view["networks"])
    for container in view["containers"]:
        host = container["HostConfig"]
        assert not any(host.get("PortBindings") or {}), host.get("PortBindings")  # nothing listens on the host
        assert host["Memory"] == 512 * 2 ** 20 == host["MemorySwap"]  # 1 GiB for the stack, split in two
        assert host["NanoCpus"] == 10 ** 9 and host["PidsLimit"] == 256
        assert container["Config"]["Labels"]["org.compose-grader.owner"].endswith(f":{graded.pid}")


@pytest.fixture(scope="module")
def outside_host() -> Iterator[str]:
    """An address off the machine as far as a container can tell: a network namespace the test makes,
    joined to the host by a veth pair, with a TCP listener. (Traffic goes only to what the test made.)"""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 to make a network namespace")
    ns, host_side, ns_side = f"grader-out-{os.getpid()}", f"gvh{os.getpid() % 100000}", f"gvn{os.getpid() % 100000}"
    commands = [["ip", "netns", "add", ns], ["ip", "link", "add", host_side, "type", "veth", "peer", "name", ns_side],
                ["ip", "link", "set", ns_side, "netns", ns], ["ip", "addr", "add", "10.231.99.1/24", "dev", host_side],
                ["ip", "link", "set", host_side, "up"],
                ["ip", "netns", "exec", ns, "ip", "addr", "add", "10.231.99.2/24", "dev", ns_side],
                ["ip", "netns", "exec", ns, "ip", "link", "set", ns_side, "up"],
                ["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"],
                ["ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", "10.231.99.1"]]
    listener = None
    try:
        for command in commands:
            subprocess.run(command, check=True, capture_output=True, timeout=30)
        listener = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c",
                                     "import socket\ns = socket.create_server(('10.231.99.2', 8099))\n"
                                     "while True:\n    s.accept()[0].close()"], stdout=subprocess.DEVNULL)
        yield "10.231.99.2:8099"
    finally:
        if listener:
            listener.kill()
            listener.wait(timeout=10)
        subprocess.run(["ip", "link", "del", host_side], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)


@pytest.mark.parametrize("egress", [False, True], ids=["default", "egress-allowed"])
def test_a_stack_has_no_route_off_the_machine_unless_the_rubric_allows_it(
        docker_engine: None, leak_watch: None, tmp_path: Path, outside_host: str, egress: bool) -> None:
    folder = copy_case_from_samples("perfect", tmp_path)
    os.environ["GRADER_TEST_EGRESS_TARGET"] = outside_host
    try:
        graded, view = grade_with_view(folder, tmp_path, "limits:\n  egress: true\n" if egress else "")
    finally:
        os.environ.pop("GRADER_TEST_EGRESS_TARGET", None)
    assert graded.check("flask-counter")["status"] == "passed", graded.check("flask-counter")  # still reached
    assert view["networks"] and all(network["Internal"] is not egress for network in view["networks"])
    reached = view["egress"].get("web")
    assert reached is not None, view["egress"]
    assert (reached == "connected") is egress, view["egress"]  # without egress: a timeout or an error, never a connection


def copy_case_from_samples(name: str, target: Path) -> Path:
    destination = target / name
    shutil.copytree(REPO / "sample_submissions" / name, destination, symlinks=True)
    return destination


# --------------------------------------------------------------------------- parser disagreement

HIDDEN_KEY = "    env_file: /etc/os-release\n"
REDIS = "services:\n  redis:\n    image: redis:alpine\n"


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85"], ids=["U+2028", "U+2029", "U+0085"])
@pytest.mark.parametrize("where", ["comment", "plain-value", "quoted-value", "after-key"])
def test_bytes_yaml_parsers_disagree_on_are_refused_before_compose_reads_anything(
        tmp_path: Path, char: str, where: str) -> None:
    text = {
        "comment": REDIS + f"    # note{char}{HIDDEN_KEY.strip()}\n",
        "plain-value": REDIS.replace("redis:alpine", f"redis:alpine{char}{HIDDEN_KEY.strip()}"),
        "quoted-value": REDIS.replace("redis:alpine", f'"redis:alpine{char}x"'),
        "after-key": REDIS + f"    restart: always{char}{HIDDEN_KEY.strip()}\n",
    }[where]
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(text, encoding="utf-8")
    graded = grade(folder, tmp_path / "out")
    assert_clean_output(graded)
    compose_file = graded.check("compose-file")
    assert compose_file["status"] == "failed", compose_file
    assert f"U+{ord(char):04X}" in compose_file["message"] and "line" in compose_file["message"]
    assert compose_file["location"]["file"] == "docker-compose.yml"
    assert "Delete that character" in compose_file["hint"]
    assert graded.check("stack-up")["status"] == "skipped"
    assert "os-release" not in json.dumps(graded.result).replace(HIDDEN_KEY.strip(), "")  # nothing was read


def test_compose_itself_reads_the_hidden_key(tmp_path: Path) -> None:
    """Why those bytes are refused: for Compose (go-yaml) U+2028 ends the comment, and the key is live."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "compose.yaml").write_text(REDIS + f"    # note\u2028{HIDDEN_KEY}", encoding="utf-8")
    done = subprocess.run(["docker", "compose", "config", "--format", "json"], cwd=folder, capture_output=True,
                          text=True, timeout=60, env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    environment = json.loads(done.stdout)["services"]["redis"].get("environment") or {}
    assert "PRETTY_NAME" in environment, done.stdout  # /etc/os-release, read by Compose as root
    assert (HOSTILE / "README.md").is_file()
