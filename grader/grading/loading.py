"""Loading a submission: the grader's one reading of every file Compose reads (grader.submission.files),
then Compose's own normalised model of the files the grader wrote (`docker compose config`).

When Compose rejects the files, its message is turned into one a student can act on: paths as
the student knows them, and the location in the file that holds the problem (`.env:3`,
`compose.override.yaml:5`, `redis.yaml:3`), mapped back from the grader's written file.
"""
from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable

from grader.docker.compose import ComposeProject
from grader.submission.files import ProjectFiles, read_project
from grader.errors import CommandError, CommandTimeout, ComposeLoadError
from grader.submission.model import ComposeModel, locate
from grader.results import Location
from grader.submission.workspace import Workspace

_DOTTED_PATH = re.compile(r"\b((?:services|volumes|networks|secrets|configs)(?:\.[\w.\[\]-]+)?)")
_LINE = re.compile(r"\bline (\d+)")
_PROPERTY = re.compile(r"additional propert(?:y|ies) '([^']+)'")
_UNDEFINED = re.compile(r'service "([^"]+)" refers to undefined (volume|network|secret|config)')
_QUOTED = re.compile(r"""['"`]([^'"`\n]{1,80})['"`]""")
TOP_LEVEL_KEYS = ("version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models")


def load_files(workspace: Workspace) -> ProjectFiles:
    """Read (and rewrite, in the private copy) every file Compose will read."""
    return read_project(workspace)


def normalised_model(project: ComposeProject, files: ProjectFiles, workspace: Workspace,
                     meanwhile: Callable[[], None] | None = None) -> ComposeModel:
    """Ask Compose what the grader's files mean; turn its complaints into a student-facing error.
    ``meanwhile`` runs while Compose reads them (runner.run)."""
    try:
        config = project.config(meanwhile=meanwhile)
    except CommandTimeout as exc:
        raise ComposeLoadError("`docker compose config` did not finish in time on this file.") from exc
    except CommandError as exc:
        raise compose_error(exc, files, workspace) from exc
    except ValueError as exc:  # JSON
        raise ComposeLoadError(f"`docker compose config` printed something unexpected: {exc}") from exc
    return ComposeModel(documents=files.documents, config=config, order=files.service_order(), profiles=files.profiles,
                        project_dir=str(workspace.project_dir), env_files=files.env_files, extends=files.extends)


def compose_error(exc: CommandError, files: ProjectFiles, workspace: Workspace) -> ComposeLoadError:
    lines = [line for line in exc.stderr.splitlines() if line.strip() and "level=warning" not in line]
    message = (lines[-1] if lines else str(exc)).strip()
    opening = next((i for i, line in enumerate(lines) if line.rstrip().endswith(":")), None)
    if opening is not None:  # a message that goes on over several lines (an include cycle): keep it whole
        message = " ".join(line.strip() for line in lines[opening:])
    display, message = _name_the_file(message, files, workspace)
    message = re.sub(r"^(error|Error|validating [^:]+:|failed to (?:read|parse) [^:]+:)\s*", "", message).strip()
    where, hint = _locate(message, display, files)
    named = display or (where.file if where else None)
    shown = f"{named}: {message}" if named and named not in message else message
    if files.refusals and not hint:  # Compose judged what was left once the refused references were removed
        hint = (f"The grader removed what the safety policy refused ({files.refusals[0]}) before asking Compose; "
                "fix that first, and this error may go with it.")
    return ComposeLoadError(
        f"Docker Compose rejects the file: {shown}",
        location=where,
        hint=hint or "Run `docker compose config` in your folder to see the same error, then fix the named key.",
    )


def _name_the_file(message: str, files: ProjectFiles, workspace: Workspace) -> tuple[str | None, str]:
    """The file the message is about (as the student names it), and the message with every path
    in the grader's copy replaced by the student's own."""
    display = None
    for real in sorted(files.written, key=len, reverse=True):
        if real in message:
            display = display or files.written[real].display_name
            message = message.replace(real, files.written[real].display_name)
    return display, scrub_paths(message, workspace)


def scrub_paths(message: str, workspace: Workspace) -> str:
    """Paths as the student knows them (./data), never the grader's temp folder."""
    root = re.escape(str(workspace.root))

    def relative(match: re.Match[str]) -> str:
        shown = os.path.relpath(match.group(0), workspace.project_dir)
        return shown if shown.startswith("..") else "./" + shown if shown != "." else "."

    return re.sub(root + r"[^\s\"':,]*", relative, message)


def _locate(message: str, display: str | None, files: ProjectFiles) -> tuple[Location | None, str | None]:
    documents = [d for d in files.documents if d.display_name == display] or files.documents
    line = _LINE.search(message)
    display = display or (files.main.display_name if files.documents else None)
    if line and display:
        written = next((w for w in files.written.values() if w.display_name == display), None)
        source = written.source_line(int(line.group(1))) if written else None
        if source:
            return Location(display, source), None
    undefined = _UNDEFINED.search(message)
    if undefined:
        found = locate(files.documents, ("services", undefined.group(1), undefined.group(2) + "s"))
        if found:
            return found, f"Declare it under the top-level `{undefined.group(2)}s:` key, or fix its name."
    prop = _PROPERTY.search(message)
    path = _DOTTED_PATH.search(message)
    if prop and not path:
        return _top_level_typo(prop.group(1), documents)
    if path:
        keys = [part for part in path.group(1).replace("[]", "").split(".") if part]
        if prop:
            keys.append(prop.group(1))
        found = locate(documents, tuple(keys)) or locate(files.documents, tuple(keys))
        if found:
            return found, None
    return _quoted_value(message, documents), None


def _top_level_typo(key: str, documents: list) -> tuple[Location | None, str | None]:
    where = locate(documents, (key,))
    close = difflib.get_close_matches(key, TOP_LEVEL_KEYS, n=1)
    hint = f"`{key}:` is not a top-level key of a Compose file: did you mean `{close[0]}:`?" if close else \
        f"`{key}:` is not a top-level key of a Compose file (those are {', '.join(TOP_LEVEL_KEYS[:7])})."
    return where, hint


def _quoted_value(message: str, documents: list) -> Location | None:
    """Last resort: the line of the student's files that holds a value the message quotes."""
    for token in _QUOTED.findall(message) + message.rsplit(": ", 1)[-1:]:
        token = token.strip()
        if len(token) < 2:
            continue
        for document in documents:
            for number, text in enumerate(document.text.splitlines(), start=1):
                if token in text and not text.lstrip().startswith("#"):
                    return document.location(number)
    return None
