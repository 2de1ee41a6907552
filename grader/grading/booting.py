"""Booting a graded stack: the file actually booted (an allowlist of the student's keys), then the Stack.

Imported by the engine only when a grading boots, so that static gradings load nothing of Docker.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from grader.docker import commands as docker
from grader.docker.bootfile import dump_json, plan_boot
from grader.docker.compose import ComposeProject
from grader.docker.stack import Stack
from grader.grading.context import GradingContext
from grader.submission.model import locate
from grader.submission.workspace import dump_problem, find_dump


@contextmanager
def booted_stack(context: GradingContext, project: ComposeProject, run_id: str) -> Iterator[Stack]:
    model, space, files = context.model, context.workspace, context.files
    probe_ports = {}
    if context.redis_service:
        probe_ports[context.redis_service] = context.rubric.expect.port
    if context.web_service:
        probe_ports[context.web_service] = model.web_port(context.web_service)
    (space.root / "binds").mkdir(exist_ok=True)
    plan = plan_boot(model.config, project=project.name, run_id=run_id, limits=context.rubric.limits,
                     probe_ports=probe_ports, snapshot_root=space.root / "binds", services=list(model.services),
                     written=written_keys(files.documents), published=docker.reaches_by_published_ports(),
                     locate=lambda keypath: locate(files.documents, keypath, extends=files.extends),
                     submission_root=space.source_copy,
                     project_dir=space.project_dir)
    context.ignored += list(plan.ignored)
    boot_file = dump_json(plan, space.root / "boot.json")
    no_env = space.root / "boot.env"
    no_env.write_text("")
    dump = _dump(context)
    with Stack(project.with_files([boot_file], env_file=no_env), plan, run_id=run_id, limits=context.rubric.limits,
               dump=(context.redis_service, dump) if dump and context.redis_service else None,
               scratch=space.root) as stack:
        stack.before_down = lambda: context.evidence.last_look(stack, context.redis_service, context.rubric.expect.key)
        yield stack


def written_keys(documents: list) -> set[tuple[str, str]]:
    """(service, key) for every key the student's files set on a service."""
    keys = set()
    for document in documents:
        services = document.data.get("services") if isinstance(document.data, dict) else None
        for name, service in (services or {}).items() if isinstance(services, dict) else []:
            keys |= {(name, key) for key in service} if isinstance(service, dict) else set()
    return keys


def _dump(context: GradingContext) -> Path | None:
    """The dump.rdb nearest the root, when it is one the grader will load (else say why not)."""
    found = find_dump(context.workspace.source_copy)
    if found is None:
        return None
    context.dump_file = context.workspace.relative(found)
    context.dump_problem = dump_problem(found, context.dump_file)
    return None if context.dump_problem else found
