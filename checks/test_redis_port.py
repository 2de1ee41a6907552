from grader.checking import ComposeModel, Outcome, check, fail


def describe(port: dict) -> str:
    host_ip = f"{port['host_ip']}:" if port.get("host_ip") else ""
    published = port.get("published") or "(random)"
    return f"{host_ip}{published}→{port.get('target')}/{port.get('protocol', 'tcp')}"


def _number(value: object) -> int | None:
    """A port as the engine reads it: "06379" and 6379 are the same port."""
    text = str(value).strip() if value is not None else ""
    return int(text) if text.isdigit() else None


@check("redis-port", points=2, title="Redis port 6379 is published on the host")
def test_redis_port(compose: ComposeModel, redis_service: str | None, expect, outcome: Outcome) -> None:
    if redis_service is None:
        fail("No Redis service found, so no Redis port is published (see redis-image).",
             expected=f'ports: ["{expect.port}:{expect.port}"]', found="no Redis service",
             location=compose.locate_top_level("services"))
    ports = [p for p in compose.service(redis_service).get("ports") or [] if isinstance(p, dict)]
    location = compose.locate(redis_service, "ports") if ports else compose.service_line(redis_service)
    wanted = expect.port
    for port in ports:
        if _number(port.get("target")) == wanted and _number(port.get("published")) == wanted \
                and port.get("protocol", "tcp") == "tcp":
            outcome.message = f"`{redis_service}` publishes {describe(port)}"
            return
    hint = f'Under the `{redis_service}` service add:\n  ports:\n    - "{wanted}:{wanted}"'
    if not ports:
        fail(f"The service `{redis_service}` publishes no ports, so nothing on the host can reach Redis.",
             expected=f"{wanted}:{wanted}", found="no ports", location=location, hint=hint)
    found = ", ".join(describe(port) for port in ports)
    udp = [p for p in ports if _number(p.get("target")) == wanted and p.get("protocol") == "udp"]
    if udp:
        fail(f"The service `{redis_service}` publishes port {wanted} over UDP; Redis speaks TCP.",
             expected=f"{wanted}:{wanted} (TCP)", found=found, location=location,
             hint=f'Remove `/udp` from the mapping: "{wanted}:{wanted}" (TCP is the default).')
    fail(f"The service `{redis_service}` does not publish container port {wanted} on host port {wanted}.",
         expected=f"{wanted}:{wanted} (host:container)", found=found, location=location,
         hint=f'Change the mapping to "{wanted}:{wanted}": the host port comes first, the container port second.')
