"""Loading a submission's Compose files into a ComposeModel: raw YAML first (safely, with
lines), then Compose's own normalised model from `docker compose config`."""
from __future__ import annotations

import os
import re
from pathlib import Path

from grader.compose import ComposeProject
from grader.errors import CommandError, CommandTimeout, ComposeLoadError
from grader.model import ComposeModel
from grader.policy import resolve_inside
from grader.results import Location
from grader.submission import Workspace, missing_compose_error
from grader.yamlload import LoadedYaml, key_line, load_yaml

_DOTTED_PATH = re.compile(r"\b(services(?:\.[\w.-]+)?|volumes\.[\w.-]+|networks\.[\w.-]+)")
_LINE = re.compile(r"line (\d+)")
_PROPERTY = re.compile(r"additional propert(?:y|ies) '([^']+)'")


def load_documents(workspace: Workspace) -> list[LoadedYaml]:
    """The Compose file (and its override) as safe, line-numbered YAML.

    A file that is a symbolic link is read only when the link stays inside the submission:
    the grader never reads a file of the grading machine because a student linked to it.
    """
    if workspace.compose_file is None:
        raise missing_compose_error(workspace.project_dir, workspace.source_copy)
    files = [workspace.compose_file] + ([workspace.override_file] if workspace.override_file else [])
    for path in files:
        _refuse_link_outside(path, workspace)
    return [load_yaml(path, workspace.relative(path)) for path in files]


def _refuse_link_outside(path: Path, workspace: Workspace) -> None:
    if not path.is_symlink():
        return
    if resolve_inside(str(path), workspace.source_copy) is not None:
        return
    name = workspace.relative(path)
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    raise ComposeLoadError(
        f"{name} is a symbolic link to '{target}', which is outside the submission folder; "
        "the grader does not follow links out of a submission.",
        hint="Submit the Compose file itself, not a link to it.",
    )


def normalised_model(project: ComposeProject, documents: list[LoadedYaml], workspace: Workspace) -> ComposeModel:
    """Ask Compose what the files mean; turn its complaints into a student-facing error."""
    try:
        config = project.config()
    except CommandTimeout as exc:
        raise ComposeLoadError("`docker compose config` did not finish in time on this file.") from exc
    except CommandError as exc:
        raise compose_error(exc, documents, workspace) from exc
    except ValueError as exc:  # JSON
        raise ComposeLoadError(f"`docker compose config` printed something unexpected: {exc}") from exc
    return ComposeModel(documents=documents, config=config)


def compose_error(exc: CommandError, documents: list[LoadedYaml], workspace: Workspace) -> ComposeLoadError:
    lines = [line for line in exc.stderr.splitlines() if line.strip() and "level=warning" not in line]
    message = (lines[-1] if lines else str(exc)).strip()
    message = _scrub_paths(message, workspace)
    message = re.sub(r"^(error|Error|validating [^:]+:)\s*", "", message).strip()
    location = _locate_message(message, documents)
    return ComposeLoadError(
        f"Docker Compose rejects the file: {message}",
        location=location,
        hint="Run `docker compose config` in your folder to see the same error, then fix the named key.",
    )


def _scrub_paths(message: str, workspace: Workspace) -> str:
    """Paths as the student knows them: relative to the project folder, never the grader's temp folder."""
    message = message.replace(str(workspace.project_dir) + "/", "").replace(str(workspace.source_copy) + "/", "")
    root = re.escape(str(workspace.root))
    return re.sub(root + r"[^\s\"':,]*", lambda m: os.path.relpath(m.group(0), workspace.project_dir), message)


def _locate_message(message: str, documents: list[LoadedYaml]) -> Location | None:
    main = documents[0]
    line = _LINE.search(message)
    if line:
        return main.location(int(line.group(1)))
    path = _DOTTED_PATH.search(message)
    if not path:
        return None
    node, found = main.data, None
    for part in path.group(1).split("."):
        if isinstance(node, dict) and part in node:
            found = key_line(node, part) or found
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            break
    prop = _PROPERTY.search(message)
    if prop and isinstance(node, dict) and prop.group(1) in node:
        found = key_line(node, prop.group(1)) or found
    return main.location(found) if found else None

