"""plan_boot: the model the grader boots is safe to run beside other gradings."""
from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest

from grader.bootfile import LABEL, OWNER_LABEL, RUN_LABEL, owner, plan_boot
from grader.rubric import Limits

# What `docker compose config --format json` prints for a typical (busy) student file.
CONFIG: dict[str, Any] = {
    "name": "student",
    "networks": {
        "back": {"name": "fixed_net", "ipam": {}, "labels": {"team": "a"}},
        "default": {"name": "student_default", "ipam": {}},
    },
    "services": {
        "redis": {
            "container_name": "my_redis",
            "deploy": {"resources": {"limits": {"memory": "8589934592"}}},
            "image": "redis:alpine",
            "labels": {"a": "b"},
            "networks": {"back": None},
            "ports": [
                {"mode": "ingress", "target": 6379, "published": "6379", "protocol": "tcp"},
                {"mode": "ingress", "host_ip": "0.0.0.0", "target": 6379, "published": "6379", "protocol": "tcp"},
                {"mode": "ingress", "host_ip": "127.0.0.1", "target": 6379, "published": "6379", "protocol": "udp"},
            ],
            "volumes": [{"type": "volume", "source": "redis_data", "target": "/data", "volume": {}}],
            "mem_reservation": "100000000",
            "pull_policy": "always",
        },
        "web": {
            "build": {"context": "/src", "dockerfile": "Dockerfile", "labels": {"x": "y"}},
            "ports": [{"mode": "ingress", "target": 5000, "published": "5000", "protocol": "tcp"}],
            "scale": 3,
        },
        "worker": {"image": "busybox", "labels": ["k=v", "flag"], "command": ["sleep", "1d"]},
    },
    "volumes": {"redis_data": {"name": "fixed_name", "labels": {"keep": "me"}}, "cache": None},
}

LIMITS = Limits(memory="256m", cpus=0.5, pids=64)


def plan(config: dict[str, Any] = CONFIG, run_id: str = "run1", probe_ports: dict[str, int] | None = None,
         project: str = "grader-run1", limits: Limits = LIMITS):
    return plan_boot(config, project=project, run_id=run_id, limits=limits,
                     probe_ports={"redis": 6379} if probe_ports is None else probe_ports)


def test_input_is_not_mutated() -> None:
    before = copy.deepcopy(CONFIG)
    result = plan()
    assert CONFIG == before
    # and the plan shares no mutable structure with the input
    result.config["services"]["redis"]["volumes"][0]["target"] = "/changed"
    result.config["services"]["web"]["build"]["labels"]["x"] = "changed"
    assert CONFIG == before


def test_plan_is_json_serialisable() -> None:
    assert json.loads(json.dumps(plan().config))["services"]["redis"]["image"] == "redis:alpine"


def test_ports_move_to_loopback_without_fixed_host_ports() -> None:
    services = plan().config["services"]
    for name in ("redis", "web"):
        for entry in services[name]["ports"]:
            assert entry["host_ip"] == "127.0.0.1"
            assert "published" not in entry
            assert "mode" not in entry
    # duplicates of the same target/protocol collapse into one; other protocols stay
    assert services["redis"]["ports"] == [
        {"target": 6379, "protocol": "tcp", "host_ip": "127.0.0.1"},
        {"target": 6379, "protocol": "udp", "host_ip": "127.0.0.1"},
    ]
    assert services["web"]["ports"] == [{"target": 5000, "protocol": "tcp", "host_ip": "127.0.0.1"}]


def test_probe_ports_are_published_when_the_student_did_not() -> None:
    config = {"services": {"redis": {"image": "redis:alpine"}, "web": {"build": {"context": "."}, "expose": ["5000"]},
                           "other": {"image": "busybox"}}}
    services = plan(config, probe_ports={"redis": 6379, "web": 5000}).config["services"]
    assert services["redis"]["ports"] == [{"target": 6379, "protocol": "tcp", "host_ip": "127.0.0.1"}]
    assert services["web"]["ports"] == [{"target": 5000, "protocol": "tcp", "host_ip": "127.0.0.1"}]
    assert services["other"]["ports"] == []


def test_probe_port_is_not_duplicated_when_already_published() -> None:
    services = plan(probe_ports={"redis": 6379, "web": 5000}).config["services"]
    assert [p["target"] for p in services["redis"]["ports"] if p["protocol"] == "tcp"] == [6379]
    assert [p["target"] for p in services["web"]["ports"]] == [5000]


def test_probe_port_added_beside_a_different_published_port() -> None:
    config = {"services": {"redis": {"image": "redis", "ports": [{"target": 6380, "published": "6379", "protocol": "tcp"}]}}}
    ports = plan(config).config["services"]["redis"]["ports"]
    assert {(p["target"], p["protocol"]) for p in ports} == {(6380, "tcp"), (6379, "tcp")}
    assert all(p["host_ip"] == "127.0.0.1" and "published" not in p for p in ports)


def test_probe_ports_are_recorded() -> None:
    result = plan(probe_ports={"redis": 6379, "web": 8000})
    assert result.probe_ports == {"redis": 6379, "web": 8000}


def test_colliding_and_unbounded_keys_are_removed() -> None:
    result = plan().config
    assert "name" not in result
    services = result["services"]
    assert "container_name" not in services["redis"]
    assert "deploy" not in services["redis"]
    assert "mem_reservation" not in services["redis"]
    assert "scale" not in services["web"]
    assert services["redis"]["pull_policy"] == "missing"


def test_volume_and_network_names_are_removed_and_labelled() -> None:
    result = plan(run_id="abc").config
    assert set(result["volumes"]) == {"redis_data", "cache"}
    assert set(result["networks"]) == {"back", "default"}
    for section in ("volumes", "networks"):
        for resource in result[section].values():
            assert "name" not in resource
            assert resource["labels"][LABEL] == "1"
            assert resource["labels"][RUN_LABEL] == "abc"
    assert result["volumes"]["redis_data"]["labels"]["keep"] == "me"
    assert result["networks"]["back"]["labels"]["team"] == "a"
    assert result["networks"]["back"]["ipam"] == {}


def test_sections_absent_from_the_input_stay_absent() -> None:
    result = plan({"services": {"redis": {"image": "redis"}}}).config
    assert "volumes" not in result and "networks" not in result


def test_services_and_builds_are_labelled_keeping_student_labels() -> None:
    services = plan(run_id="r-42").config["services"]
    for svc in services.values():
        assert svc["labels"][LABEL] == "1"
        assert svc["labels"][RUN_LABEL] == "r-42"
    assert services["redis"]["labels"]["a"] == "b"
    assert services["worker"]["labels"]["k"] == "v"
    assert services["worker"]["labels"]["flag"] == ""
    build_labels = services["web"]["build"]["labels"]
    assert build_labels["x"] == "y"
    assert (build_labels[LABEL], build_labels[RUN_LABEL]) == ("1", "r-42")


def test_every_resource_names_its_owner() -> None:
    result = plan().config
    resources = [*result["services"].values(), *result["volumes"].values(), *result["networks"].values(),
                 result["services"]["web"]["build"]]
    for resource in resources:
        assert resource["labels"][OWNER_LABEL] == owner()
    host, _, pid = owner().rpartition(":")
    assert host and int(pid) == os.getpid()


def test_student_cannot_override_the_grader_labels() -> None:
    config = {"services": {"redis": {"image": "redis", "labels": {LABEL: "0", RUN_LABEL: "other"}}}}
    labels = plan(config, run_id="mine").config["services"]["redis"]["labels"]
    assert labels[LABEL] == "1" and labels[RUN_LABEL] == "mine"


def test_built_services_get_a_per_run_image_tag() -> None:
    first = plan(run_id="aaa", project="grader-aaa")
    second = plan(run_id="bbb", project="grader-bbb")
    assert set(first.built_images) == {"web"}
    assert first.built_images["web"] != second.built_images["web"]
    for result in (first, second):
        web = result.config["services"]["web"]
        assert web["image"] == result.built_images["web"]
        assert web["pull_policy"] == "build"
        assert web["image"] == web["image"].lower()
    assert "aaa" in first.built_images["web"] and "bbb" in second.built_images["web"]


def test_student_image_name_on_a_built_service_is_replaced() -> None:
    config = {"services": {"web": {"build": {"context": "."}, "image": "python:3.12"}}}
    result = plan(config, project="Grader-XYZ")
    assert result.config["services"]["web"]["image"] == result.built_images["web"]
    assert result.config["services"]["web"]["image"] != "python:3.12"
    assert result.built_images["web"] == result.built_images["web"].lower()


def test_image_only_services_keep_their_image() -> None:
    result = plan()
    assert result.config["services"]["redis"]["image"] == "redis:alpine"
    assert result.config["services"]["worker"]["image"] == "busybox"
    assert "redis" not in result.built_images


@pytest.mark.parametrize("limits", [Limits(), Limits(memory="1g", cpus=2.0, pids=100)])
def test_resource_limits_on_every_service(limits: Limits) -> None:
    services = plan(limits=limits).config["services"]
    assert set(services) == {"redis", "web", "worker"}
    for svc in services.values():
        assert svc["mem_limit"] == limits.memory
        assert svc["memswap_limit"] == limits.memory
        assert svc["cpus"] == limits.cpus
        assert svc["pids_limit"] == limits.pids


def test_student_limits_are_overridden() -> None:
    config = {"services": {"redis": {"image": "redis", "mem_limit": "64g", "memswap_limit": -1,
                                     "cpus": 16, "pids_limit": -1}}}
    svc = plan(config).config["services"]["redis"]
    assert (svc["mem_limit"], svc["memswap_limit"], svc["cpus"], svc["pids_limit"]) == ("256m", "256m", 0.5, 64)


def test_other_service_settings_are_kept() -> None:
    svc = plan().config["services"]
    assert svc["redis"]["volumes"] == CONFIG["services"]["redis"]["volumes"]
    assert svc["redis"]["networks"] == {"back": None}
    assert svc["worker"]["command"] == ["sleep", "1d"]
    assert svc["web"]["build"]["context"] == "/src"
