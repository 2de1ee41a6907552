"""plan_boot: the boot file is built from an allowlist of Compose's model, runs only images the
grader built or the student named, mounts only grader-owned copies, stays off the network by
default and within the stack's limits, and is labelled for `grader clean`."""
from __future__ import annotations

import copy
import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.docker.bootfile import (
    LABEL,
    OWNER_LABEL,
    REASONS,
    REWRITTEN_KEYS,
    RUN_LABEL,
    SERVICE_KEYS,
    BootPlan,
    BuildSpec,
    memory_bytes,
    owner,
    plan_boot,
)
from grader.docker.compose import ComposeProject, detect_cli
from grader.rubric import Limits
from grader.docker.stack import copy_snapshot

# A busy student file; the tests plan Compose's own model of it (`docker compose config`).
BUSY = """
name: student
services:
  redis:
    image: redis:alpine
    container_name: my_redis
    ports: ["6379:6379", "0.0.0.0:6379:6379", "127.0.0.1:6379:6379/udp"]
    volumes: [redis_data:/data, ./conf:/usr/local/etc/redis:ro, ./conf:/again]
    ulimits: {nofile: 65535, rtprio: 99}
    logging: {driver: syslog, options: {syslog-address: "udp://192.0.2.1:514"}}
    dns: [192.0.2.53]
    mac_address: "02:42:ac:11:00:02"
    labels: {a: b}
    mem_reservation: 100m
    pull_policy: always
    deploy: {resources: {limits: {memory: 8g}}}
    networks:
      back:
        ipv4_address: 172.30.0.5
        aliases: [cache]
    post_start: [{command: "sleep 600"}]
    pre_stop: [{command: "sleep 600"}]
    healthcheck: {test: ["CMD", "redis-cli", "ping"], interval: 5s}
    secrets: [token]
  web:
    build:
      context: ./app
      dockerfile: Dockerfile
      args: {FLASK_ENV: production, EMPTY: null}
      target: final
      tags: ["redis:alpine", "python:3.11-slim"]
      network: default
      labels: {x: y}
    image: python:3.12
    ports: ["5000:5000"]
    depends_on: [redis]
    environment: {REDIS_HOST: redis}
    command: ["flask", "run"]
    networks: [back]
  worker:
    image: busybox
    labels: ["k=v", "flag"]
    command: ["sleep", "1d"]
    mem_limit: 64m
    cpus: 0.25
    pids_limit: 16
    configs: [inline]
volumes:
  redis_data:
    name: fixed_name
    labels: {keep: me}
networks:
  back:
    name: fixed_net
    labels: {team: a}
    ipam: {config: [{subnet: 172.30.0.0/16}]}
secrets:
  token:
    file: ./token.txt
configs:
  inline:
    content: hello
"""
LIMITS = Limits(memory="256m", cpus=0.5, pids=64, stack_memory="4g", stack_cpus=8, stack_pids=4096)


def compose_config(folder: Path, text: str, name: str = "compose.yaml") -> dict[str, Any]:
    """Compose's normalised model of ``text`` (no engine needed)."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return ComposeProject(detect_cli(), None, folder, (path,)).config()


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("busy")
    (folder / "conf").mkdir()
    (folder / "app").mkdir()
    (folder / "app" / "Dockerfile").write_text("FROM alpine\n")
    (folder / "token.txt").write_text("x\n")
    return compose_config(folder, BUSY)


def plan(config: dict[str, Any], tmp_path: Path, *, limits: Limits = LIMITS, run_id: str = "run1",
         probe_ports: dict[str, int] | None = None, **options: Any) -> BootPlan:
    options.setdefault("project", f"grader-{run_id}")
    options.setdefault("project_dir", tmp_path)
    return plan_boot(config, run_id=run_id, limits=limits, snapshot_root=tmp_path / "binds",
                     probe_ports={"redis": 6379} if probe_ports is None else probe_ports, **options)


def ignored_keys(result: BootPlan) -> dict[tuple[str, str], str]:
    return {(item.subject, item.key): item.reason for item in result.ignored}


# --------------------------------------------------------------------------- the allowlist


def test_only_allowlisted_keys_reach_the_boot_file(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path)
    for name, service in result.config["services"].items():
        assert set(service) <= SERVICE_KEYS | REWRITTEN_KEYS, (name, set(service) - SERVICE_KEYS - REWRITTEN_KEYS)
        assert "build" not in service and "deploy" not in service
    assert set(result.config) <= {"services", "networks", "volumes", "secrets", "configs"}
    redis = result.config["services"]["redis"]
    for key in ("container_name", "ulimits", "logging", "dns", "mac_address", "mem_reservation", "post_start",
                "pre_stop"):
        assert key in busy["services"]["redis"] and key not in redis, key  # Compose had it; the plan does not


def test_a_dropped_key_is_listed_when_the_student_wrote_it(busy: dict, tmp_path: Path) -> None:
    written = {("redis", "dns"), ("redis", "mac_address")}
    seen: list[tuple] = []

    def locate(keypath: tuple) -> Any:
        seen.append(keypath)
        return f"at {'.'.join(map(str, keypath))}"

    listed = ignored_keys(result := plan(busy, tmp_path, written=written, locate=locate))
    for key in ("dns", "mac_address", *REASONS.keys() & set(busy["services"]["redis"])):
        assert listed[("service 'redis'", key)], key
    assert listed[("service 'redis'", "ulimits")] == REASONS["ulimits"]
    assert "connect out" in listed[("service 'redis'", "logging")]
    assert "lifecycle hooks" in listed[("service 'redis'", "post_start")]
    location = {item.key: item.location for item in result.ignored}
    assert location["dns"] == "at services.redis.dns" and ("services", "redis", "ulimits") in seen
    # not written by the student (e.g. added by Compose), not named: dropped without a word
    assert ("service 'redis'", "dns") not in ignored_keys(plan(busy, tmp_path))
    assert ("service 'redis'", "mem_reservation") not in listed


def test_build_keys_beyond_the_graders_are_listed(busy: dict, tmp_path: Path) -> None:
    listed = ignored_keys(plan(busy, tmp_path))
    for key in ("build.tags", "build.network", "build.labels"):
        assert "builds the image itself" in listed[("service 'web'", key)], key
    assert "own tag" in listed[("service 'web'", "build.tags")]


def test_network_addresses_are_the_engines(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path)
    listed = ignored_keys(result)
    assert "subnet" in listed[("network 'back'", "ipam")]
    assert ("service 'redis'", "networks.back.ipv4_address") in listed
    assert result.config["services"]["redis"]["networks"] == {"back": {"aliases": ["cache"]}}
    assert all(set(network) == {"labels", "internal"} for network in result.config["networks"].values())
    assert ("network 'default'", "ipam") not in listed  # Compose's own empty ipam is no news


def test_extension_fields_are_not_news(tmp_path: Path) -> None:
    config = compose_config(tmp_path, "x-svc: &svc\n  image: alpine\nservices:\n  a: *svc\n")
    assert "x-svc" in config
    assert plan(config, tmp_path, probe_ports={}).ignored == ()


# --------------------------------------------------------------------------- images and builds


def test_built_services_get_a_per_run_tag_and_never_pull(busy: dict, tmp_path: Path) -> None:
    first = plan(busy, tmp_path, run_id="aaa")
    second = plan(busy, tmp_path, run_id="bbb")
    assert set(first.built_images) == set(first.builds) == {"web"}
    assert first.built_images["web"] != second.built_images["web"]
    for result, run in ((first, "aaa"), (second, "bbb")):
        web = result.config["services"]["web"]
        assert web["image"] == result.built_images["web"] and run in web["image"]
        assert web["image"] == web["image"].lower() and web["image"] not in ("python:3.12", "redis:alpine")
        assert web["pull_policy"] == "never"
        assert "build" not in web


def test_the_build_spec_is_what_the_grader_builds(busy: dict, tmp_path: Path) -> None:
    spec = plan(busy, tmp_path).builds["web"]
    assert spec == BuildSpec(context=busy["services"]["web"]["build"]["context"], dockerfile="Dockerfile",
                             args={"FLASK_ENV": "production"}, target="final")
    assert Path(spec.context).name == "app"


def test_inline_dockerfile_and_uppercase_project(tmp_path: Path) -> None:
    config = {"services": {"web": {"build": {"context": str(tmp_path), "dockerfile_inline": "FROM alpine\n",
                                             "args": {"N": 3, "GONE": None}}, "image": "python:3.12"}}}
    result = plan(config, tmp_path, project="Grader-XYZ", probe_ports={})
    assert result.builds["web"].dockerfile_inline == "FROM alpine\n"
    assert result.builds["web"].args == {"N": "3"}
    assert result.config["services"]["web"]["image"] == result.built_images["web"] == "grader-xyz-web:grader"


def test_a_build_without_context_builds_the_project_folder(tmp_path: Path) -> None:
    config = compose_config(tmp_path, "services:\n  web:\n    build: ${UNSET}\n")
    assert "context" not in config["services"]["web"]["build"]
    spec = plan(config, tmp_path, probe_ports={}).builds["web"]
    assert Path(spec.context).is_absolute() and Path(spec.context).resolve() == tmp_path.resolve()


@pytest.mark.parametrize("policy, kept", [("always", None), ("build", None), ("missing", "missing"),
                                          ("never", "never"), ("if_not_present", "if_not_present")])
def test_image_services_keep_their_image_and_never_pull_always(tmp_path: Path, policy: str, kept: str | None) -> None:
    config = {"services": {"redis": {"image": "redis:alpine", "pull_policy": policy}}}
    result = plan(config, tmp_path)
    redis = result.config["services"]["redis"]
    assert redis["image"] == "redis:alpine" and result.built_images == {} and result.builds == {}
    assert redis.get("pull_policy") == kept


# --------------------------------------------------------------------------- mounts


def test_bind_sources_become_grader_owned_snapshots(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path)
    binds = [m for m in result.config["services"]["redis"]["volumes"] if m["type"] == "bind"]
    originals = [m["source"] for m in busy["services"]["redis"]["volumes"] if m["type"] == "bind"]
    assert len(binds) == 2 and binds[0]["source"] == binds[1]["source"]  # one snapshot per source
    snapshot = binds[0]["source"]
    assert Path(snapshot).parent == tmp_path / "binds" and snapshot not in originals
    assert result.binds[snapshot] == originals[0]
    assert all(m["bind"] == {"create_host_path": False} for m in binds)
    assert binds[0]["read_only"] is True and binds[0]["target"] == "/usr/local/etc/redis"
    assert [m for m in result.config["services"]["redis"]["volumes"] if m["type"] == "volume"] == [
        {"type": "volume", "source": "redis_data", "target": "/data"}]


def test_secret_files_are_snapshots_and_content_is_kept(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path)
    secrets = result.config["secrets"]
    assert result.config["configs"]["inline"] == {"content": "hello"}
    assert set(secrets["token"]) == {"file"}
    assert result.binds[secrets["token"]["file"]] == busy["secrets"]["token"]["file"]
    assert Path(secrets["token"]["file"]).parent == tmp_path / "binds"


def test_a_snapshot_copies_the_source_and_never_follows_a_link_out(tmp_path: Path) -> None:
    source = tmp_path / "data"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.txt").write_text("a")
    (source / "hosts").symlink_to("/etc/hosts")
    copy_snapshot(source, tmp_path / "binds" / "1-data")
    copied = tmp_path / "binds" / "1-data"
    assert (copied / "sub" / "a.txt").read_text() == "a"
    assert (copied / "hosts").is_symlink() and os.readlink(copied / "hosts") == "/etc/hosts"  # a link, not /etc's file
    (tmp_path / "token").write_text("t")
    copy_snapshot(tmp_path / "token", tmp_path / "binds" / "2-token")
    assert (tmp_path / "binds" / "2-token").read_text() == "t"
    copy_snapshot(tmp_path / "missing", tmp_path / "binds" / "3-missing")  # as Docker would create it
    assert (tmp_path / "binds" / "3-missing").is_dir()


def test_a_snapshot_of_a_link_inside_the_submission_holds_its_target(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("a")
    (tmp_path / "alias").symlink_to("data")
    (tmp_path / "token.link").symlink_to("data/a.txt")
    copy_snapshot(tmp_path / "alias", tmp_path / "binds" / "1-alias")
    copy_snapshot(tmp_path / "token.link", tmp_path / "binds" / "2-token")
    assert (tmp_path / "binds" / "1-alias" / "a.txt").is_file()
    assert (tmp_path / "binds" / "2-token").is_file() and (tmp_path / "binds" / "2-token").read_text() == "a"


def test_other_mounts_and_secret_sources_are_dropped_and_listed(tmp_path: Path) -> None:
    config = {"services": {"app": {"image": "alpine", "volumes": [
        {"type": "npipe", "source": "//./pipe/docker_engine", "target": "/pipe"},
        {"type": "image", "source": "alpine", "target": "/img"},
        {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 1024}},
        {"type": "volume", "source": "v", "target": "/v", "volume": {"nocopy": True, "subpath": "x"}},
    ]}}, "volumes": {"v": {}}, "secrets": {"env": {"environment": "HOME"}}}
    result = plan(config, tmp_path, probe_ports={})
    mounts = result.config["services"]["app"]["volumes"]
    assert mounts == [{"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 1024}},
                      {"type": "volume", "source": "v", "target": "/v", "volume": {"nocopy": True}}]
    listed = ignored_keys(result)
    assert ("service 'app'", "volumes: /pipe") in listed and ("service 'app'", "volumes: /img") in listed
    assert ("secret 'env'", "env") in listed and result.config["secrets"] == {}
    assert result.binds == {}


# --------------------------------------------------------------------------- network and ports


def test_networks_are_internal_and_nothing_is_published_by_default(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path)
    assert result.internal and not result.published
    assert set(result.config["networks"]) == {"back", "default"}
    assert all(network["internal"] is True for network in result.config["networks"].values())
    assert all(service["ports"] == [] for service in result.config["services"].values())


def test_a_default_network_is_planned_when_compose_gave_none(tmp_path: Path) -> None:
    result = plan({"services": {"redis": {"image": "redis"}}}, tmp_path)
    assert result.config["networks"]["default"]["internal"] is True
    assert result.config["services"]["redis"]["networks"] == {"default": None}
    assert "volumes" not in result.config and "secrets" not in result.config


def test_egress_allowed_by_the_rubric(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path, limits=Limits(egress=True))
    assert not result.internal
    assert all(network["internal"] is False for network in result.config["networks"].values())


def test_published_mode_uses_loopback_without_fixed_host_ports(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path, published=True, probe_ports={"redis": 6379, "web": 5000, "worker": 8080})
    assert result.published and not result.internal  # the grader reaches them through the host
    services = result.config["services"]
    for service in services.values():
        for port in service["ports"]:
            assert port["host_ip"] == "127.0.0.1" and "published" not in port and "mode" not in port
    assert services["redis"]["ports"] == [  # the same target/protocol once; other protocols stay
        {"target": 6379, "protocol": "tcp", "host_ip": "127.0.0.1"},
        {"target": 6379, "protocol": "udp", "host_ip": "127.0.0.1"},
    ]
    assert services["web"]["ports"] == [{"target": 5000, "protocol": "tcp", "host_ip": "127.0.0.1"}]
    assert services["worker"]["ports"] == [{"target": 8080, "protocol": "tcp", "host_ip": "127.0.0.1"}]
    assert result.probe_ports == {"redis": 6379, "web": 5000, "worker": 8080}


def test_probe_port_added_beside_a_different_published_port(tmp_path: Path) -> None:
    config = {"services": {"redis": {"image": "redis", "ports": [{"target": 6380, "published": "6379", "protocol": "tcp"}]}}}
    ports = plan(config, tmp_path, published=True).config["services"]["redis"]["ports"]
    assert {(p["target"], p["protocol"]) for p in ports} == {(6380, "tcp"), (6379, "tcp")}


def test_network_mode_service_gets_no_networks(tmp_path: Path) -> None:
    config = {"services": {"redis": {"image": "redis"}, "web": {"image": "alpine", "network_mode": "service:redis"}}}
    web = plan(config, tmp_path).config["services"]["web"]
    assert web["network_mode"] == "service:redis" and "networks" not in web


# --------------------------------------------------------------------------- limits


def _limits(service: dict[str, Any]) -> tuple[int, float, int]:
    assert service["memswap_limit"] == service["mem_limit"]  # no swap
    return memory_bytes(service["mem_limit"]), service["cpus"], service["pids_limit"]


def test_two_services_share_the_stack_limits(tmp_path: Path) -> None:
    limits = Limits(memory="1g", cpus=2.0, pids=512, stack_memory="1g", stack_cpus=2.0, stack_pids=512)
    config = {"services": {"a": {"image": "alpine"}, "b": {"image": "alpine"}}}
    services = plan(config, tmp_path, limits=limits, probe_ports={}).config["services"]
    for service in services.values():
        assert _limits(service) == (512 * 1024 ** 2, 1.0, 256)


def test_the_rubrics_per_service_limit_when_smaller_than_the_share(tmp_path: Path) -> None:
    config = {"services": {"a": {"image": "alpine"}}}
    service = plan(config, tmp_path, limits=LIMITS, probe_ports={}).config["services"]["a"]
    assert _limits(service) == (256 * 1024 ** 2, 0.5, 64)


def test_the_students_own_smaller_limits_are_kept_and_larger_ones_capped(busy: dict, tmp_path: Path) -> None:
    services = plan(busy, tmp_path).config["services"]
    assert _limits(services["worker"]) == (64 * 1024 ** 2, 0.25, 16)
    assert _limits(services["redis"]) == (256 * 1024 ** 2, 0.5, 64)  # deploy's 8g is capped
    deployed = {"services": {"a": {"image": "alpine", "deploy": {"resources": {"limits": {
        "memory": "33554432", "cpus": "0.1", "pids": 8}}}}}}
    assert _limits(plan(deployed, tmp_path).config["services"]["a"]) == (32 * 1024 ** 2, 0.1, 8)


def test_unlimited_spellings_get_the_rubrics_limits(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: alpine\n    mem_limit: -1\n    memswap_limit: -1\n    cpus: 0\n    pids_limit: -1\n"
    config = compose_config(tmp_path, text)
    assert config["services"]["a"]["mem_limit"] == "-1"  # Compose's spelling of "no limit"
    assert _limits(plan(config, tmp_path).config["services"]["a"]) == (256 * 1024 ** 2, 0.5, 64)


def test_the_share_counts_only_the_services_that_boot(busy: dict, tmp_path: Path) -> None:
    limits = Limits(memory="4g", cpus=4.0, pids=4096, stack_memory="1g", stack_cpus=1.0, stack_pids=100)
    result = plan(busy, tmp_path, limits=limits, services=["redis", "web"])
    assert set(result.config["services"]) == {"redis", "web"}
    for name in ("redis", "web"):
        assert _limits(result.config["services"][name]) == (512 * 1024 ** 2, 0.5, 50)


@pytest.mark.parametrize("count", [3, 7])
def test_the_stack_never_exceeds_its_own_limits(tmp_path: Path, count: int) -> None:
    limits = Limits(memory="1g", cpus=2.0, pids=512, stack_memory="1g", stack_cpus=2.0, stack_pids=512)
    config = {"services": {f"s{i}": {"image": "alpine"} for i in range(count)}}
    totals = [sum(values) for values in zip(*map(_limits, plan(config, tmp_path, limits=limits).config["services"].values()))]
    assert totals[0] <= 1024 ** 3 and totals[2] <= 512
    assert totals[1] <= 2.0, totals


# --------------------------------------------------------------------------- labels, names, shape


def test_everything_is_labelled_with_run_and_owner(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path, run_id="r-42")
    config = result.config
    resources = [*config["services"].values(), *config["volumes"].values(), *config["networks"].values()]
    for resource in resources:
        assert resource["labels"][LABEL] == "1"
        assert resource["labels"][RUN_LABEL] == "r-42"
        assert resource["labels"][OWNER_LABEL] == owner()
    host, _, pid = owner().rpartition(":")
    assert host and int(pid) == os.getpid()
    assert config["services"]["redis"]["labels"]["a"] == "b"
    assert config["services"]["worker"]["labels"]["k"] == "v" and config["services"]["worker"]["labels"]["flag"] == ""
    assert config["volumes"]["redis_data"]["labels"]["keep"] == "me"
    assert config["networks"]["back"]["labels"]["team"] == "a"


def test_student_cannot_override_the_grader_labels(tmp_path: Path) -> None:
    config = {"services": {"redis": {"image": "redis", "labels": {LABEL: "0", RUN_LABEL: "other", OWNER_LABEL: "x:1"}}}}
    labels = plan(config, tmp_path, run_id="mine").config["services"]["redis"]["labels"]
    assert (labels[LABEL], labels[RUN_LABEL], labels[OWNER_LABEL]) == ("1", "mine", owner())


def test_fixed_names_are_dropped(busy: dict, tmp_path: Path) -> None:
    config = plan(busy, tmp_path).config
    assert "name" not in config
    assert "container_name" not in config["services"]["redis"]
    assert all("name" not in resource for section in ("volumes", "networks", "secrets", "configs")
               for resource in config[section].values())


def test_plan_is_json_serialisable(busy: dict, tmp_path: Path) -> None:
    result = plan(busy, tmp_path, published=True)
    assert json.loads(json.dumps(result.config)) == result.config


def test_input_is_not_mutated(busy: dict, tmp_path: Path) -> None:
    before = copy.deepcopy(busy)
    result = plan(busy, tmp_path, published=True)
    assert busy == before
    result.config["services"]["redis"]["volumes"][0]["target"] = "/changed"
    result.config["services"]["redis"]["labels"]["a"] = "changed"
    result.config["networks"]["back"]["labels"]["team"] = "changed"
    assert busy == before


def test_the_plan_shares_no_mutable_structure_with_the_model(busy: dict, tmp_path: Path) -> None:
    before = copy.deepcopy(busy)
    result = plan(busy, tmp_path)
    result.config["services"]["web"]["command"].append("--debug")
    result.config["services"]["redis"]["healthcheck"]["interval"] = "1s"
    assert busy == before


def test_other_service_settings_are_kept_as_compose_normalised_them(busy: dict, tmp_path: Path) -> None:
    services = plan(busy, tmp_path).config["services"]
    for name, key in (("worker", "command"), ("web", "environment"), ("web", "depends_on"),
                      ("redis", "healthcheck"), ("redis", "secrets")):
        assert services[name][key] == busy["services"][name][key], (name, key)


# --------------------------------------------------------------------------- Compose's reading of the plan


def test_compose_reads_the_boot_file_as_planned(busy: dict, tmp_path: Path) -> None:
    """The oracle: `docker compose config` of the boot file the grader writes."""
    result = plan(busy, tmp_path, published=True)
    for snapshot in result.binds:  # Stack makes these before `up`
        Path(snapshot).parent.mkdir(parents=True, exist_ok=True)
        (Path(snapshot).mkdir() if Path(result.binds[snapshot]).is_dir() else Path(snapshot).write_text("x"))
    boot = tmp_path / "boot.json"
    boot.write_text(json.dumps(result.config))
    (tmp_path / "boot.env").write_text("")
    seen = ComposeProject(detect_cli(), "grader-run1", tmp_path, (boot,), env_file=tmp_path / "boot.env").config()
    assert set(seen["services"]) == {"redis", "web", "worker"}
    for name, service in seen["services"].items():
        assert "build" not in service and set(service) <= SERVICE_KEYS | REWRITTEN_KEYS, (name, set(service))
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1" and not port.get("published"), port
        for mount in service.get("volumes", []):
            assert mount["type"] != "bind" or mount["source"] in result.binds, mount
    assert seen["services"]["web"]["pull_policy"] == "never" and seen["services"]["web"]["image"] == result.built_images["web"]
    assert all(not network.get("external") for network in seen["networks"].values())
    assert set(seen["secrets"]["token"]) >= {"file"} and seen["secrets"]["token"]["file"] in result.binds
