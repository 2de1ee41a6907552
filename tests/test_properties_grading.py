"""Property: whatever Compose-shaped file a student hands in, static grading ends with every
check in one of the four statuses and no exception escapes."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

import grader
from grader.results import Status

SERVICE_KEYS = ["image", "ports", "volumes", "build", "command", "environment", "depends_on", "container_name",
                "restart", "networks", "healthcheck", "privileged", "network_mode", "expose", "labels"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-70000, 70000), st.text(max_size=12),
                    st.sampled_from(["redis:alpine", "6379:6379", "redis_data:/data", "./data:/data", ".", "host"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                     st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
services = st.dictionaries(st.sampled_from(["redis", "web", "cache", "app"]),
                           st.dictionaries(st.sampled_from(SERVICE_KEYS), values, max_size=5), min_size=1, max_size=3)
documents = st.fixed_dictionaries({"services": services},
                                  optional={"volumes": st.dictionaries(st.sampled_from(["redis_data", "x"]), values,
                                                                       max_size=2),
                                            "name": scalars, "version": scalars})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_static_grading_always_ends_in_a_status(document: dict, tmp_path_factory) -> None:
    folder = tmp_path_factory.mktemp("sub")
    with (folder / "docker-compose.yml").open("w") as handle:
        YAML(typ="safe").dump(document, handle)
    result = grader.grade(folder, mode="static")
    assert [check.id for check in result.checks][:4] == ["compose-file", "redis-image", "redis-port", "named-volume"]
    for check in result.checks:
        assert check.status in set(Status)
        assert check.status is not Status.ERROR, (check.id, check.message)
    if result.check("compose-file").status is Status.FAILED:
        assert all(check.status is Status.SKIPPED for check in result.checks[1:])
    assert result.to_dict()["max_score"] == 14
