"""The Compose model: image references, service roles, and file:line locations."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.submission import imageref
from grader.submission.imageref import ImageRef, InvalidReference
from grader.submission.model import (
    REDIS_PORT,
    WEB_PORT,
    ComposeModel,
    image_matches,
    image_problem,
    is_redis_repository,
    published_targets,
)
from grader.results import Location
from grader.yaml import LoadedYaml, parse_yaml

# Images --------------------------------------------------------------------------

ACCEPTED = ["redis:alpine", "docker.io/library/redis:alpine", "redis:7-alpine", "redis:7.2-alpine3.19"]
REJECTED = ["redis", "redis:latest", "redis:7", "bitnami/redis:alpine", "myregistry.io/redis:alpine"]


@pytest.mark.parametrize("reference", ACCEPTED)
def test_issue_accepted_images(reference: str) -> None:
    assert image_matches(reference, "redis:alpine") is True


@pytest.mark.parametrize("reference", REJECTED)
def test_issue_rejected_images(reference: str) -> None:
    assert image_matches(reference, "redis:alpine") is False


@pytest.mark.parametrize("reference", [
    "index.docker.io/library/redis:alpine",
    "docker.io/redis:alpine",
    "library/redis:alpine",
    "redis:alpine3.19",
    "redis:7.2.4-alpine",
    "redis:alpine@sha256:" + "a" * 64,
])
def test_equivalent_spellings_are_accepted(reference: str) -> None:
    assert image_matches(reference, "redis:alpine")


@pytest.mark.parametrize("reference", [
    "redis:7-bookworm", "redis:alpine-foo", "redis:7-alpine-foo", "redis:7.2-rc-alpine",
    "localhost:5000/redis:alpine", "ghcr.io/library/redis:alpine", "redisx:alpine", "valkey/valkey:alpine",
    "", "   ", None, 6379, ["redis:alpine"],
])
def test_other_tags_registries_and_non_strings_are_rejected(reference: Any) -> None:
    assert image_matches(reference, "redis:alpine") is False


@pytest.mark.parametrize("reference, why", [
    # references Docker cannot pull (issue 10's false passes): each fails, saying why
    ("REDIS:ALPINE", "capital letters"),
    ("Redis:alpine", "capital letters"),
    ("redis:Alpine", "tag is `Alpine`"),
    ("redis:alpine ", "white space"),
    (" redis:alpine", "white space"),
    ("redis:alpine\n", "white space"),
    ("redis:alpine@sha256:abc", "not a valid digest"),
    ("redis:alpine@md5:" + "a" * 32, "not a digest algorithm Docker supports"),
    ("redis@sha256:" + "a" * 64, "pinned by digest only"),
    ("redis:al pine", "not a valid"),
])
def test_references_docker_rejects_fail_with_the_reason(reference: str, why: str) -> None:
    problem = image_problem(reference, "redis:alpine")
    assert problem is not None and why in problem


@pytest.mark.parametrize("reference, expected", [
    ("redis:alpine", ImageRef("docker.io", "library/redis", "alpine")),
    ("redis", ImageRef("docker.io", "library/redis", None)),
    ("docker.io/library/redis:7", ImageRef("docker.io", "library/redis", "7")),
    ("index.docker.io/library/redis:7", ImageRef("docker.io", "library/redis", "7")),
    ("bitnami/redis:alpine", ImageRef("docker.io", "bitnami/redis", "alpine")),
    ("myregistry.io/redis:alpine", ImageRef("myregistry.io", "redis", "alpine")),
    ("localhost:5000/team/redis:6", ImageRef("localhost:5000", "team/redis", "6")),
    ("localhost/redis", ImageRef("localhost", "redis", None)),
    ("redis@sha256:" + "b" * 64, ImageRef("docker.io", "library/redis", None, "sha256:" + "b" * 64)),
    ("redis:Alpine", ImageRef("docker.io", "library/redis", "Alpine")),
])
def test_parse_image(reference: str, expected: ImageRef) -> None:
    assert imageref.parse(reference) == expected


@pytest.mark.parametrize("reference", [None, "", "  ", 5, "REDIS:alpine", "a//b", "redis:-x", "x" * 300])
def test_parse_image_rejects_what_docker_rejects(reference: Any) -> None:
    with pytest.raises(InvalidReference):
        imageref.parse(reference)


def test_image_ref_str() -> None:
    assert str(imageref.parse("redis:alpine")) == "library/redis:alpine"
    assert str(imageref.parse("redis")) == "library/redis:latest"


def test_non_alpine_expectations_must_match_exactly() -> None:
    assert image_matches("redis:7.2", "redis:7.2")
    assert image_matches("docker.io/library/redis:7.2", "redis:7.2")
    assert not image_matches("redis:7.2-alpine", "redis:7.2")
    assert not image_matches("redis:7", "redis:7.2")
    assert image_matches("bitnami/redis:7.2", "bitnami/redis:7.2")
    assert not image_matches("redis:7.2", "bitnami/redis:7.2")
    assert image_matches("redis", "redis:latest")


@pytest.mark.parametrize("reference, result", [
    ("redis", True), ("redis:alpine", True), ("bitnami/redis:7", True), ("myregistry.io/redis", True),
    ("redislabs/redisearch", False), ("postgres:16", False), ("python:3.12-alpine", False), (None, False),
])
def test_is_redis_repository(reference: Any, result: bool) -> None:
    assert is_redis_repository(reference) is result


# Helpers -------------------------------------------------------------------------


def document(text: str, name: str = "compose.yaml") -> LoadedYaml:
    text = textwrap.dedent(text)
    return LoadedYaml(data=parse_yaml(text, name), path=Path("/nowhere") / name, display_name=name, text=text)


def model(services: dict[str, Any], text: str | None = None, *extra: LoadedYaml,
          volumes: dict[str, Any] | None = None) -> ComposeModel:
    docs = [document(text or "services: {}\n"), *extra]
    config: dict[str, Any] = {"services": services}
    if volumes is not None:
        config["volumes"] = volumes
    return ComposeModel(documents=docs, config=config)


def port(target: int, published: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"mode": "ingress", "target": target, "protocol": "tcp"}
    if published:
        entry["published"] = published
    return entry


# Roles ---------------------------------------------------------------------------


def test_redis_service_prefers_the_name() -> None:
    m = model({"cache": {"image": "redis:alpine"}, "redis": {"image": "valkey/valkey:alpine"}})
    assert m.redis_service() == "redis"


def test_redis_service_falls_back_to_the_image() -> None:
    m = model({"web": {"build": {"context": "."}}, "cache": {"image": "redis:7-alpine"}, "db": {"image": "postgres"}})
    assert m.redis_service() == "cache"


def test_redis_service_by_image_picks_the_first_in_order() -> None:
    m = model({"a": {"image": "postgres"}, "b": {"image": "bitnami/redis"}, "c": {"image": "redis"}})
    assert m.redis_service() == "b"


def test_redis_service_none() -> None:
    assert model({"web": {"build": {"context": "."}}, "db": {"image": "postgres"}}).redis_service() is None
    assert model({}).redis_service() is None
    assert ComposeModel(documents=[document("services: {}\n")], config={"services": None}).redis_service() is None


def test_web_service_by_published_port_5000() -> None:
    m = model({
        "redis": {"image": "redis:alpine", "ports": [port(6379, "6379")]},
        "builder": {"build": {"context": "./tools"}},
        "app": {"image": "python:3.12", "ports": [port(5000, "8080")]},
    })
    assert m.web_service() == "app"


def test_web_service_falls_back_to_a_built_service() -> None:
    m = model({
        "redis": {"image": "redis:alpine"},
        "proxy": {"image": "nginx", "ports": [port(80, "80")]},
        "api": {"build": {"context": "."}, "ports": [port(8000, "8000")]},
    })
    assert m.web_service() == "api"


def test_web_service_is_never_the_redis_service() -> None:
    m = model({"redis": {"build": {"context": "./redis"}, "ports": [port(5000, "5000")]}})
    assert m.web_service() is None
    m = model({"redis": {"build": {"context": "."}, "ports": [port(5000)]}, "web": {"build": {"context": "."}}})
    assert m.web_service() == "web"


def test_web_service_none() -> None:
    assert model({"redis": {"image": "redis:alpine"}, "other": {"image": "busybox"}}).web_service() is None


def test_web_port() -> None:
    m = model({
        "a": {"ports": [port(5000, "80")]},
        "b": {"ports": [port(8000, "8000"), port(9000)]},
        "c": {},
        "d": {"expose": ["8080"]},
        "e": {"ports": [port(8000), port(5000)]},
        "f": {"expose": ["8080"], "ports": [port(5000)]},
    })
    assert m.web_port("a") == WEB_PORT
    assert m.web_port("b") == 8000
    assert m.web_port("c") == WEB_PORT
    assert m.web_port("d") == 8080
    assert m.web_port("e") == WEB_PORT
    assert m.web_port("f") == WEB_PORT
    assert m.web_port("missing") == WEB_PORT


def test_published_targets_ignores_malformed_entries() -> None:
    svc = {"ports": [port(6379, "6379"), "6380:6380", {"target": "x"}, {"published": "1"}, {"target": "5000"}]}
    assert published_targets(svc) == [REDIS_PORT, 5000]
    assert published_targets({}) == []
    assert published_targets({"ports": None}) == []


def test_services_and_volumes_properties_tolerate_odd_configs() -> None:
    m = ComposeModel(documents=[document("services: {}\n")], config={"services": [], "volumes": "x"})
    assert m.services == {}
    assert m.top_level_volumes == {}
    assert m.service("nope") == {}
    assert m.service(None) == {}
    m = model({"redis": {"image": "redis"}}, volumes={"data": {}})
    assert m.service("redis") == {"image": "redis"}
    assert m.top_level_volumes == {"data": {}}


# Locations -----------------------------------------------------------------------

MAIN = """\
services:
  redis:
    image: redis:latest
    ports:
      - "6379:6379"
    volumes:
      - redis_data:/data
  web:
    build: .
    ports:
      - "5000:5000"
volumes:
  redis_data:
"""

OVERRIDE = """\
services:
  redis:
    ports:
      - "6380:6379"
"""

CONFIG = {"services": {"redis": {"image": "redis:latest"}, "web": {"build": {"context": "."}}}}


def test_locate_service_keys_in_the_main_file() -> None:
    m = ComposeModel(documents=[document(MAIN)], config=CONFIG)
    assert m.locate("redis", "image") == Location("compose.yaml", 3)
    assert m.locate("redis", "ports") == Location("compose.yaml", 4)
    assert m.locate("redis", "volumes") == Location("compose.yaml", 6)
    assert m.locate("web", "build") == Location("compose.yaml", 9)
    assert m.locate("web") == Location("compose.yaml", 8)
    # a key the service does not set: the deepest thing found is the service itself
    assert m.locate("web", "volumes") == Location("compose.yaml", 8)
    # an unknown service: the top of the main file
    assert m.locate("nosuch", "image") == Location("compose.yaml", 1)
    assert m.locate(None) == Location("compose.yaml", 1)


def test_locate_prefers_the_override_that_sets_the_key() -> None:
    m = ComposeModel(documents=[document(MAIN), document(OVERRIDE, "compose.override.yaml")], config=CONFIG)
    assert m.locate("redis", "ports") == Location("compose.override.yaml", 3)
    # web is not in the override at all: stays in the main file
    assert m.locate("web", "build") == Location("compose.yaml", 9)
    assert m.locate("web", "ports") == Location("compose.yaml", 10)


def test_locate_keeps_the_main_file_when_the_override_does_not_set_the_key() -> None:
    m = ComposeModel(documents=[document(MAIN), document(OVERRIDE, "compose.override.yaml")], config=CONFIG)
    assert m.locate("redis", "image") == Location("compose.yaml", 3)


def test_service_line_and_locate_top_level() -> None:
    m = ComposeModel(documents=[document(MAIN), document(OVERRIDE, "compose.override.yaml")], config=CONFIG)
    assert m.service_line("web") == Location("compose.yaml", 8)
    assert m.service_line("redis") == Location("compose.yaml", 2)
    assert m.service_line("nosuch") is None
    assert m.locate_top_level("volumes", "redis_data") == Location("compose.yaml", 13)
    assert m.locate_top_level("volumes") == Location("compose.yaml", 12)
    assert m.locate_top_level("services") == Location("compose.override.yaml", 1)
    assert m.locate_top_level("networks") is None
    assert m.main.display_name == "compose.yaml"
