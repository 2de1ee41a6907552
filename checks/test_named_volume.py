from grader.checking import ComposeModel, Outcome, check, fail


@check("named-volume", points=2, title="Redis data lives in a named volume at /data")
def test_named_volume(compose: ComposeModel, redis_service: str | None, expect, outcome: Outcome) -> None:
    path = expect.volume_path
    example = f"Mount a named volume and declare it at the top level:\n  volumes:\n    - redis_data:{path}\n...\nvolumes:\n  redis_data:"
    if redis_service is None:
        fail("No Redis service found, so no volume holds its data (see redis-image).",
             expected=f"a named volume at {path}", found="no Redis service",
             location=compose.locate_top_level("services"), hint=example)
    mounts = [m for m in compose.service(redis_service).get("volumes") or [] if isinstance(m, dict)]
    location = compose.locate(redis_service, "volumes") if mounts else compose.service_line(redis_service)
    at_path = [m for m in mounts if str(m.get("target", "")).rstrip("/") == path.rstrip("/")]
    if not at_path:
        found = ", ".join(f"{compose.shown_path(m.get('source')) if m.get('type') == 'bind' else m.get('source') or '(anonymous)'}"
                          f" at {m.get('target')}" for m in mounts) or "no volumes"
        fail(f"Nothing is mounted at {path} in `{redis_service}`, where Redis keeps its data.",
             expected=f"a named volume mounted at {path}", found=found, location=location,
             hint=example if not mounts else f"Change the mount's container path to `{path}`: Redis writes its data there.")
    mount = at_path[0]
    source = mount.get("source")
    if mount.get("type") == "bind":
        fail(f"{path} is a bind mount of a host folder, not a named volume.",
             expected=f"a named volume, e.g. redis_data:{path}", found=f"bind mount {compose.shown_path(source)}:{path}",
             location=location, hint=example)
    if mount.get("type") != "volume" or not source:
        kind = "an anonymous volume" if mount.get("type") == "volume" else f"a {mount.get('type')} mount"
        fail(f"{path} is {kind}, which is lost when the container is removed.",
             expected=f"a named volume, e.g. redis_data:{path}", found=kind, location=location, hint=example)
    if source not in compose.top_level_volumes:
        fail(f"The volume `{source}` is not declared under the top-level `volumes:`.",
             expected=f"volumes:\n  {source}:", found="no declaration", location=location, hint=example)
    outcome.message = f"named volume `{source}` at {path}"
