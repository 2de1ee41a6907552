"""Loading a submission's Compose files into a ComposeModel: raw YAML first (safely, with
lines), then Compose's own normalised model from `docker compose config`."""
from __future__ import annotations

import re
from grader.compose import ComposeProject
from grader.errors import CommandError, CommandTimeout, ComposeLoadError
from grader.model import ComposeModel
from grader.results import Location
from grader.submission import Workspace, missing_compose_error
from grader.yamlload import LoadedYaml, key_line, load_yaml

_DOTTED_PATH = re.compile(r"\b(services(?:\.[\w.-]+)?|volumes\.[\w.-]+|networks\.[\w.-]+)")
_LINE = re.compile(r"line (\d+)")


def load_documents(workspace: Workspace) -> list[LoadedYaml]:
    if workspace.compose_file is None:
        raise missing_compose_error(workspace.project_dir, workspace.source_copy)
    files = [workspace.compose_file] + ([workspace.override_file] if workspace.override_file else [])
    return [load_yaml(path, workspace.relative(path)) for path in files]


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
    message = message.replace(str(workspace.project_dir) + "/", "").replace(str(workspace.source_copy) + "/", "")
    message = re.sub(r"^(error|Error|validating [^:]+:)\s*", "", message).strip()
    location = _locate_message(message, documents)
    return ComposeLoadError(
        f"Docker Compose rejects the file: {message}",
        location=location,
        hint="Run `docker compose config` in your folder to see the same error, then fix the named key.",
    )


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
    return main.location(found) if found else None

