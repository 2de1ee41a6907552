"""Every file Compose reads while loading a project, read once by the grader and written back.

Compose itself opens files while it loads a project: the Compose files (or those `.env` names
in COMPOSE_FILE), `.env`, `include:` files and their env files, `extends.file`, `env_file` and
`label_file`. Each is resolved here, inside the submission copy, before Compose runs:

* a reference that leads outside the submission (absolute, `..`, `~`, a symbolic link out),
  that is remote (git, http) or that is written with a variable is refused by a named policy
  rule, and *removed* from what Compose is given, so Compose never reads it and the rest of the
  file can still be judged;
* YAML files are replaced, in the private copy, by the file the grader wrote from its own
  reading (``grader.yaml.emit``), `.env` files by their statements minus Compose's own settings;
* COMPOSE_FILE and COMPOSE_PROFILES from `.env` are applied by the grader, as Compose would.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.submission import dotenv
from grader.errors import ComposeLoadError
from grader.submission.paths import Root, is_remote, resolve_in
from grader.results import Ignored, Location, PolicyViolation
from grader.submission.workspace import Workspace, find_override_file, missing_compose_error
from grader.submission.tree_keys import child, drop_key, holder, value_of
from grader.yaml import (
    LoadedYaml,
    Mapping,
    Node,
    Sequence,
    YamlMap,
    emit_with_lines,
    item_line,
    key_line,
    load_documents,
    read_text,
)

MAX_INCLUDE_DEPTH = 5
MAX_FILES = 20


@dataclass(frozen=True)
class WrittenFile:
    """A file the grader wrote for Compose in place of the student's: its name as the student knows
    it, and for each written line the student's line it came from."""

    display_name: str
    lines: tuple[int, ...]

    def source_line(self, line: int) -> int | None:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else None


@dataclass
class ProjectFiles:
    """What Compose is given, and the grader's reading of it."""

    files: list[Path]                                  # the -f files, in order
    documents: list[LoadedYaml]                        # every YAML document Compose reads, main files first
    env: dotenv.EnvFile | None = None                  # the project's .env
    env_files: list[dotenv.EnvFile] = field(default_factory=list)  # every .env read (project's first)
    profiles: tuple[str, ...] = ()                     # COMPOSE_PROFILES
    refusals: list[PolicyViolation] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    written: dict[str, WrittenFile] = field(default_factory=dict)  # real path -> what the grader wrote there
    included: dict[int, list[LoadedYaml]] = field(default_factory=dict)  # id(document) -> what its include: reads
    extends: dict[str, tuple[str, list[LoadedYaml]]] = field(default_factory=dict)  # service -> (base, its file)

    @property
    def main(self) -> LoadedYaml:
        return self.documents[0]

    def service_order(self) -> list[str]:
        """Service names in the order the student's files first name them; an included file's
        services stand where its `include:` is."""
        order: list[str] = []
        seen: set[int] = set()

        def walk(document: LoadedYaml) -> None:
            if id(document) in seen:
                return
            seen.add(id(document))
            for key, value in document.data.items():
                if key == "include":
                    for child in self.included.get(id(document), []):
                        walk(child)
                elif key == "services" and isinstance(value, dict):
                    order.extend(name for name in value if name not in order)

        for document in self.documents:
            walk(document)
        return order

    def document_for(self, display_name: str) -> LoadedYaml | None:
        return next((document for document in self.documents if document.display_name == display_name), None)


def read_project(space: Workspace) -> ProjectFiles:
    """Read and rewrite every file Compose will read for this submission; raise ComposeLoadError
    when the main Compose file itself cannot be read."""
    reader = _Reader(space)
    env = reader.project_env()
    main_files = reader.compose_files(env)
    for real, display in main_files:
        reader.read(real, display, space.project_dir, role="compose", depth=0)
    reader.write_all()
    profiles = ()
    if env and env.get("COMPOSE_PROFILES"):
        profiles = tuple(p.strip() for p in env.get("COMPOSE_PROFILES").raw.split(",") if p.strip())
    return ProjectFiles(files=[Path(real) for real, _ in main_files], documents=reader.documents, env=env,
                        env_files=reader.env_files, profiles=profiles, refusals=reader.refusals,
                        ignored=reader.ignored, written=reader.written, included=reader.included,
                        extends=reader.extends)


class _Reader:
    def __init__(self, space: Workspace) -> None:
        self.space = space
        self.root = Root.of(space.source_copy)
        self.documents: list[LoadedYaml] = []
        self.env_files: list[dotenv.EnvFile] = []
        self.refusals: list[PolicyViolation] = []
        self.ignored: list[Ignored] = []
        self.trees: dict[str, list[Node]] = {}     # real path -> documents to write
        self.env_texts: dict[str, dotenv.EnvFile] = {}  # real path -> .env to write
        self.written: dict[str, WrittenFile] = {}
        self.included: dict[int, list[LoadedYaml]] = {}
        self.extends: dict[str, tuple[str, list[LoadedYaml]]] = {}

    # -- the project's own files

    def project_env(self) -> dotenv.EnvFile | None:
        path = self.space.project_dir / ".env"
        if not (path.exists() or path.is_symlink()):
            return None
        env = self.read_env(str(path), None, "the project's variables")
        for entry in env.settings if env else []:
            if entry.key not in ("COMPOSE_FILE", "COMPOSE_PROFILES", "COMPOSE_PATH_SEPARATOR"):
                self.ignored.append(Ignored(entry.key, env.display_name, "a setting of Compose itself, which the "
                                            "grader runs its own way", Location(env.display_name, entry.line)))
        return env

    def compose_files(self, env: dotenv.EnvFile | None) -> list[tuple[str, str]]:
        """(real path, display name) of the files Compose is given: COMPOSE_FILE, or the defaults."""
        listed = env.get("COMPOSE_FILE") if env else None
        if listed and listed.raw.strip():
            separator = env.get("COMPOSE_PATH_SEPARATOR")
            names = [name for name in listed.raw.split(separator.raw if separator and separator.raw else ":") if name]
            location = Location(env.display_name, listed.line)
            return [self.main_file(name, location) for name in names]
        main = self.space.compose_file
        if main is None:
            raise missing_compose_error(self.space.project_dir, self.space.source_copy)
        files = [self.main_file(main.name, None)]
        override = find_override_file(self.space.project_dir)
        return files + ([self.main_file(override.name, None)] if override else [])

    def main_file(self, name: str, location: Location | None) -> tuple[str, str]:
        joined = os.path.normpath(os.path.join(str(self.space.project_dir), name))
        shown = self.display(joined) if self.root.lexically_inside(name, self.space.project_dir) else name
        real = resolve_in(name, self.space.project_dir, self.root)
        if real is None or is_remote(name):
            target = _link_target(self.space.project_dir / name)
            why = f"a symbolic link to '{target}', which is outside the submission folder" if target else \
                "outside the submission folder"
            raise ComposeLoadError(f"{shown} is {why}; the grader does not follow links out of a submission.",
                                   location=location, hint="Submit the Compose file itself, not a link to it.")
        return real, shown

    # -- reading

    def read(self, real: str, display: str, working_dir: Path | str, role: str, depth: int,
             parent: LoadedYaml | None = None) -> None:
        if real in self.trees:
            return
        documents = load_documents(Path(real), display)
        if parent is not None and role == "include":
            self.included.setdefault(id(parent), []).extend(documents)
        self.trees[real] = documents[0].nodes
        self.documents += documents
        for document in documents:
            if role != "extends":  # Compose does not follow include: in an extended file
                self.check_includes(document, str(working_dir), depth)
            self.check_service_files(document, str(working_dir), depth)

    def read_env(self, path: str, location: Location | None, what: str) -> dotenv.EnvFile | None:
        real = resolve_in(path, os.path.dirname(path), self.root)
        display = self.display(path)
        if real is None:
            target = _link_target(Path(path))
            self.refuse("symlink-outside", f"{display} ({what}) is a symbolic link to '{target}', which leads outside "
                        "the submission folder; the grader does not read it, nor lets Compose read it.",
                        Location(display, 1))
            if os.path.islink(path) and self.root.lexically_inside(path, self.root.real):
                os.unlink(path)  # in the private copy: Compose would follow it otherwise
            return None
        if real in self.env_texts:
            return next((env for env in self.env_files if env.display_name == self.display(real)), None)
        env = dotenv.parse(read_text(Path(real), self.display(real)), self.display(real))
        self.env_files.append(env)
        self.env_texts[real] = env
        return env

    # -- references

    def check_includes(self, document: LoadedYaml, working_dir: str, depth: int) -> None:
        entries = document.data.get("include")
        tree = child(document.node, "include")
        if not isinstance(entries, list) or not isinstance(tree, Sequence):
            return
        keep = []
        for index, (entry, node) in enumerate(zip(entries, tree.items)):
            line = entries.item_lines[index] if index < len(entries.item_lines) else None
            if self.include(entry, document, working_dir, depth, document.location(line)):
                keep.append(node)
        tree.items[:] = keep

    def include(self, entry: Any, document: LoadedYaml, working_dir: str, depth: int,
                location: Location | None) -> bool:
        """Check one include entry and read its files; False when it is refused (and dropped)."""
        spec = {"path": entry} if isinstance(entry, str) else entry if isinstance(entry, dict) else {}
        paths = _strings(spec.get("path"))
        env_files = _strings(spec.get("env_file"))
        project_directory = spec.get("project_directory")
        references = [(ref, self.where(document, spec, key, index, location))
                      for key in ("path", "project_directory", "env_file")
                      for index, ref in enumerate(_strings(spec.get(key)))]
        refused = [ref for ref, where in references
                   if not self.local_reference(ref, working_dir, f"include reads '{ref}'", where)]
        if refused or not paths:
            return not refused
        if not self.within_file_caps(paths[0], "included", depth, location):
            return False
        reals = [resolve_in(path, working_dir, self.root) for path in paths]
        included_dir = resolve_in(project_directory, working_dir, self.root) if isinstance(project_directory, str) \
            else os.path.dirname(reals[0])
        for env_file in env_files:
            self.read_env(os.path.join(working_dir, env_file), location, "include reads the env file")
        if not env_files and os.path.lexists(os.path.join(included_dir, ".env")):
            self.read_env(os.path.join(included_dir, ".env"), location, "the included project's .env")
        return all(self.read_referenced(real, included_dir, "include", depth + 1, document)
                   for real in reals if os.path.isfile(real))

    @staticmethod
    def where(document: LoadedYaml, spec: Any, key: str, index: int, fallback: Location | None) -> Location | None:
        """The line of one reference of an include entry: its list item, or its key."""
        value = spec.get(key) if isinstance(spec, YamlMap) else None
        line = (item_line(value, index) if isinstance(value, list) else None) or \
            (key_line(spec, key) if isinstance(spec, YamlMap) else None)
        return document.location(line) if line else fallback

    def read_referenced(self, real: str, working_dir: str, role: str, depth: int, parent: LoadedYaml) -> bool:
        """Read an included or extended file; False (refused as file-unchecked) when the grader
        cannot read it safely, so Compose is not given it either."""
        try:
            self.read(real, self.display(real), working_dir, role, depth, parent)
        except ComposeLoadError as exc:
            self.refuse("file-unchecked", f"'{self.display(real)}' ({role}d by {parent.display_name}) cannot be "
                        f"checked: {exc.message}", exc.location)
            return False
        return True

    def check_service_files(self, document: LoadedYaml, working_dir: str, depth: int) -> None:
        services = document.data.get("services")
        services_tree = child(document.node, "services")
        if not isinstance(services, dict) or not isinstance(services_tree, Mapping):
            return
        for name, service in services.items():
            tree = value_of(services_tree, name)
            if not isinstance(service, dict) or not isinstance(tree, Mapping):
                continue
            where = document.location(key_line(service, "env_file") or key_line(services, name))
            for key in ("env_file", "label_file"):
                self.check_file_list(service.get(key), tree, key, working_dir, f"service '{name}' reads {key}",
                                     document.location(key_line(service, key)) or where)
            extends = service.get("extends")
            if isinstance(extends, dict) and isinstance(extends.get("file"), str):
                self.check_extends(name, extends["file"], tree, working_dir, depth,
                                   document.location(key_line(extends, "file") or key_line(service, "extends")),
                                   document)
                real = resolve_in(extends["file"], working_dir, self.root)
                base = extends.get("service")
                if real and isinstance(base, str):
                    self.extends[name] = (base, [d for d in self.documents if d.path == Path(real)])

    def check_file_list(self, value: Any, tree: Mapping, key: str, working_dir: str, what: str,
                        location: Location | None) -> None:
        items = value if isinstance(value, list) else [value] if value is not None else []
        refused = []
        for index, item in enumerate(items):
            ref = item.get("path") if isinstance(item, dict) else item
            line = item_line(value, index) if isinstance(value, list) else None
            where = Location(location.file, line) if location and line else location
            if isinstance(ref, str) and not self.local_reference(ref, working_dir, f"{what} '{ref}'", where):
                refused.append(index)
        if not refused:
            return
        holding = holder(tree, key)
        node = child(holding, key) if holding else None
        if isinstance(node, Sequence):
            node.items[:] = [item for index, item in enumerate(node.items) if index not in refused]
        else:
            drop_key(tree, key)

    def check_extends(self, name: str, ref: str, tree: Mapping, working_dir: str, depth: int,
                      location: Location | None, document: LoadedYaml) -> None:
        if not self.local_reference(ref, working_dir, f"service '{name}' extends a service from '{ref}'", location):
            drop_key(tree, "extends")
            return
        real = resolve_in(ref, working_dir, self.root)
        if not real or not os.path.isfile(real):
            return  # Compose reports a missing file itself
        if not self.within_file_caps(ref, "extended", depth, location) or not self.read_referenced(real, os.path.dirname(real), "extend", depth + 1, document):
            drop_key(tree, "extends")

    def within_file_caps(self, ref: str, how: str, depth: int, location: Location | None) -> bool:
        """True when one more file, ``depth + 1`` levels down, is within what the grader reads;
        else it is refused as file-unchecked (and Compose is not given it either)."""
        if depth + 1 <= MAX_INCLUDE_DEPTH and len(self.trees) < MAX_FILES:
            return True
        self.refuse("file-unchecked", f"'{ref}' is {how} through more than {MAX_INCLUDE_DEPTH} levels or "
                    f"after {MAX_FILES} other files, so the grader will not check it; flatten your Compose files.",
                    location)
        return False

    def local_reference(self, ref: str, working_dir: str, what: str, location: Location | None) -> bool:
        """True when ``ref`` names a file inside the submission that Compose may read as written."""
        text = ref.strip()
        if not text:
            return True
        if "$" in text:
            self.refuse("file-outside", f"{what} through a variable, so the grader cannot check which file Compose "
                        "would read; write the path out (relative to your project).", location)
            return False
        if is_remote(text):
            self.refuse("file-outside", f"{what}, which is remote; use only files inside the submission.", location)
            return False
        if resolve_in(text, working_dir, self.root) is None:
            rule = "symlink-outside" if self.root.lexically_inside(text, working_dir) else "file-outside"
            self.refuse(rule, f"{what}, {self.outside(text, working_dir)}; use only files inside it.", location)
            return False
        return True

    # -- output

    def write_all(self) -> None:
        """Replace, in the private copy, each file Compose reads by what the grader read of it."""
        for real, trees in self.trees.items():
            text, lines = emit_with_lines(trees)
            Path(real).write_text(text, encoding="utf-8")
            self.written[real] = WrittenFile(self.display(real), tuple(lines))
        for real, env in self.env_texts.items():
            Path(real).write_text(env.write(), encoding="utf-8")
            self.written[real] = WrittenFile(env.display_name, tuple(e.line for e in env.entries if e not in env.settings))

    def refuse(self, rule: str, message: str, location: Location | None) -> None:
        violation = PolicyViolation(rule, message, location)
        if violation not in self.refusals:
            self.refusals.append(violation)

    def display(self, path: str) -> str:
        return self.root.display(os.path.normpath(path))

    def outside(self, raw: str, base: str | None = None) -> str:
        if self.root.lexically_inside(raw, base or str(self.space.project_dir)):
            return "which leads outside the submission folder through a symbolic link"
        return "which is outside the submission folder"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def _link_target(path: Path) -> str | None:
    try:
        return os.readlink(path) if path.is_symlink() else None
    except OSError:
        return None
