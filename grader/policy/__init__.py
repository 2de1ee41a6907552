"""The safety policy: what a student's Compose files may not ask the Docker engine to do.

It is judged on one document only: Compose's own normalised model of the files the grader
wrote from its reading (grader/submission/files.py), so what the policy judges is what the engine
would be given. The reading itself refuses files Compose would read from outside the
submission (``ProjectFiles.refusals``); here come the rules on the model (rules.py: one entry
per rule; paths.py: bind mounts, build contexts, secret files), the namespace rules and the
per-submission caps. ``evaluate`` merges them, locates each in the student's files and drops
the rules an instructor allowed. Whatever passes is still cut down to an allowlist when the
boot file is written (grader/docker/bootfile.py).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from grader.submission.model import Extends, locate
from grader.submission.paths import Root
from grader.policy import path_rules as paths
from grader.policy.findings import Finding
from grader.policy.rules import KEY_RULES, Rule, rule_summaries, short
from grader.results import PolicyViolation
from grader.yaml import LoadedYaml

RULES: dict[str, str] = rule_summaries()
NAMESPACE_KEYS = {"network_mode": "network", "pid": "process (PID)", "ipc": "IPC (shared memory)",
                  "uts": "hostname (UTS)", "userns_mode": "user"}
SCOPES = {"service": "services", "build": "services", "volume": "volumes", "network": "networks"}


def evaluate(model: Mapping[str, Any], documents: list[LoadedYaml], submission_root: Path, *,
             refusals: Iterable[PolicyViolation] = (), allowed: frozenset[str] = frozenset(),
             max_services: int = 10, max_ports: int = 20, extends: Extends | None = None) -> list[PolicyViolation]:
    """Every rule the model breaks (plus ``refusals`` from reading the files), located, merged,
    minus ``allowed``, sorted by file and line."""
    root = Root.of(submission_root)
    findings: list[Finding] = []
    raw = RawValues(documents)
    checks = _guarded("the Compose model", ("services",), lambda: list(_checks(model, root, raw, max_services, max_ports)))
    for check in checks:
        if isinstance(check, Finding):  # the model itself could not be walked: refused
            findings.append(check)
        else:
            subject, keypath, run = check
            findings += _guarded(subject, keypath, run)
    located = [_locate(finding, documents, extends) for finding in _merge(findings)]
    result = [violation for violation in [*refusals, *located] if violation.rule not in allowed]
    return sorted(dict.fromkeys(result), key=_sort_key)


class RawValues:
    """What the student wrote at a keypath (for messages in their own words): the value of the
    last document that sets it, or None."""

    def __init__(self, documents: list[LoadedYaml]) -> None:
        self.documents = documents

    def __call__(self, keypath: tuple[Any, ...]) -> Any:
        for document in reversed(self.documents):
            node: Any = document.data
            for key in keypath:
                if isinstance(node, dict) and key in node:
                    node = node[key]
                elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
                    node = node[key]
                else:
                    node = None
                    break
            if node is not None:
                return node
        return None


def _checks(model: Mapping[str, Any], root: Root, raw: RawValues, max_services: int,
            max_ports: int) -> Iterator[tuple[str, tuple, Callable[[], Iterable[Finding]]]]:
    if not isinstance(model, Mapping):
        raise TypeError(f"the model is a {type(model).__name__}, not a mapping")
    services = _section(model, "services")
    for name, service in services.items():
        if isinstance(service, Mapping):
            here = ("services", name)
            yield f"service:{name}", here, lambda n=name, s=service: _key_rules("service", n, s, here_of(n), raw)
            yield f"service:{name}", here, lambda n=name, s=service: _key_rules(
                "build", n, s.get("build") if isinstance(s.get("build"), Mapping) else {}, here_of(n) + ("build",), raw)
            yield f"service:{name}", here, lambda n=name, s=service: _namespaces(n, s, services)
            yield f"service:{name}", here, lambda n=name, s=service: paths.bind_mounts(n, s, root, raw)
            yield f"service:{name}", here, lambda n=name, s=service: paths.build(n, s, root, raw)
    for scope, section in (("volume", "volumes"), ("network", "networks")):
        for name, entry in _section(model, section).items():
            if isinstance(entry, Mapping):
                yield f"{scope}:{name}", (section, name), lambda sc=scope, n=name, e=entry, se=section: \
                    _key_rules(sc, n, e, (se, n), raw)
    for section in ("secrets", "configs"):
        for name, entry in _section(model, section).items():
            if isinstance(entry, Mapping):
                yield f"{section[:-1]}:{name}", (section, name), lambda se=section, n=name, e=entry: [
                    *_key_rules("secret", n, e, (se, n), raw, kind=se[:-1]), *paths.secret_files(se, n, e, root, raw)]
    yield "project", ("services",), lambda: _caps(services, max_services, max_ports)


def _section(model: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A top-level section; a section of the wrong shape cannot be judged, so it is refused."""
    value = model.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"`{key}` is a {type(value).__name__}, not a mapping")
    return value


def here_of(name: str) -> tuple:
    return ("services", name)


def _key_rules(scope: str, name: str, entry: Mapping, here: tuple, raw: RawValues, kind: str = "") -> Iterator[Finding]:
    for rule in KEY_RULES:
        if rule.scope != scope or rule.key not in entry or rule.offends is None:
            continue
        value = entry.get(rule.key)
        offending = rule.offends(value)
        if offending is None:
            continue
        written = raw(here + (rule.key,))
        shown = rule.offends(written) if written is not None else None  # in the student's words when it can be
        where = rule.where(written if shown is not None else value) if rule.where else ()
        yield _finding(rule, name, here + (rule.key, *where), offending if shown is None else shown, kind)


def _finding(rule: Rule, name: str, keypath: tuple, offending: Any, kind: str) -> Finding:
    message = rule.message.format(name=name, value=short(offending), kind=kind)
    subject = f"{rule.scope if rule.scope != 'build' else 'service'}:{name}"
    return Finding(rule.name, subject, rule.key, keypath, message, rule.hint)


def _namespaces(name: str, service: Mapping, services: Mapping) -> Iterator[Finding]:
    for key, what in NAMESPACE_KEYS.items():
        value = service.get(key)
        if not isinstance(value, str) or not value.strip():
            continue
        mode = value.strip()
        lowered = mode.lower()
        here = ("services", name, key)
        if lowered == "host":
            yield Finding("host-namespace", f"service:{name}", key, here,
                          f"service '{name}' sets {key}: host, which shares the host's {what} namespace with the "
                          "container.", f"Remove `{key}: host`.")
        elif lowered.startswith("container:"):
            yield Finding("host-namespace", f"service:{name}", key, here,
                          f"service '{name}' sets {key}: {short(mode)}, which joins the {what} namespace of a "
                          "container outside this Compose project; use service:<name> for a service in your file.",
                          f"Use `{key}: service:<name>` with a service of your own file, or remove it.")
        elif lowered.startswith("service:"):
            target = mode.split(":", 1)[1].strip()
            if target not in services:
                yield Finding("host-namespace", f"service:{name}", key, here,
                              f"service '{name}' sets {key}: {short(mode)}, but there is no service "
                              f"'{short(target, 40)}' in this project, so it would join a {what} namespace outside it.",
                              f"Name a service of your own file in `{key}:`.")
        elif key == "network_mode" and lowered != "none":
            yield Finding("network-mode", f"service:{name}", key, here,
                          f"service '{name}' sets network_mode: {short(mode)}, which attaches it to a network outside "
                          "this Compose project (shared with every other container there).",
                          "Remove `network_mode:`: Compose puts your services on the project's own network, where "
                          "they reach each other by service name.")


def _caps(services: Mapping, max_services: int, max_ports: int) -> Iterator[Finding]:
    if len(services) > max_services:
        yield Finding("too-many-services", "project", "services", ("services",),
                      f"the project defines {len(services)} services; the grader boots at most {max_services}.",
                      "This assignment needs two services (redis, and optionally web).")
    counts = {name: len(s.get("ports") or []) for name, s in services.items() if isinstance(s, Mapping)}
    total = sum(counts.values())
    if total > max_ports:
        busiest = max(counts, key=counts.get)
        yield Finding("too-many-ports", "project", "ports", ("services", busiest, "ports"),
                      f"the services publish {total} ports (service '{busiest}' alone {counts[busiest]}); the grader "
                      f"publishes at most {max_ports}.", "Publish only the ports the assignment asks for: 6379 (and 5000).")


def _guarded(subject: str, keypath: tuple, check: Callable[[], Iterable[Finding]]) -> list[Finding]:
    """Run one check; a bug on odd input must refuse the submission, never crash or wave it through."""
    try:
        return list(check())
    except Exception as exc:  # noqa: BLE001 - fail closed: any failure to judge is a refusal
        return [Finding("check-failed", subject, "check-failed", keypath,
                        f"the grader could not finish checking {subject.replace(':', ' ')} ({type(exc).__name__}); "
                        "it refuses to boot the submission rather than guess.")]


def _merge(findings: list[Finding]) -> list[Finding]:
    """One report per problem: the same rule on the same subject and detail once."""
    merged: dict[tuple[str, str, str | None], Finding] = {}
    for finding in findings:
        merged.setdefault((finding.rule, finding.subject, finding.detail), finding)
    return list(merged.values())


def _locate(finding: Finding, documents: list[LoadedYaml], extends: Extends | None) -> PolicyViolation:
    where = locate(documents, finding.keypath, extends=extends)
    return PolicyViolation(finding.rule, finding.message, where, finding.hint or None)


def _sort_key(violation: PolicyViolation) -> tuple[Any, ...]:
    loc = violation.location
    return (loc is None, loc.file if loc else "", loc.line if loc else 0, violation.rule, violation.message)


__all__ = ["RULES", "evaluate"]
