"""Reading `.env` files as Compose does (compose-go's dotenv parser), with line numbers.

The grader reads a project's `.env` once, and Compose then reads the file the grader wrote
from that reading (``write``): the same statements, each written in the quoting it had, minus
Compose's own settings (COMPOSE_*, DOCKER_*), which the grader applies itself or ignores.

The rules mirror compose-go's ``dotenv/parser.go``: `export` prefixes, `KEY=value` and the
YAML-like `KEY: value`, comments at line starts and ` #` after unquoted values, single quotes
(literal) and double quotes (escapes, then interpolation), values spanning lines inside
quotes, and a bare `KEY` that inherits the grading machine's (minimal) environment.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from grader.errors import ComposeLoadError
from grader.results import Location

# Compose's own settings: the grader honours COMPOSE_FILE and COMPOSE_PROFILES itself and drops
# the rest, so no `.env` can point Compose at another engine, config or file set.
CONTROL_PREFIXES = ("COMPOSE_", "DOCKER_", "BUILDKIT_", "BUILDX_")
_SPACE = "\t\v\f\r \x85\xa0"  # compose-go's isSpace: white space that is not a line break


@dataclass(frozen=True)
class EnvEntry:
    key: str
    raw: str              # the value as written: between the quotes, or the unquoted text
    quote: str            # "'", '"' or "" (unquoted)
    line: int
    inherited: bool = False  # a bare `KEY` line: the value comes from the environment

    @property
    def shown(self) -> str:
        return f"{self.key}={self.quote}{self.raw}{self.quote}" if not self.inherited else self.key

    def write(self) -> str:
        return self.key if self.inherited else f"{self.key}={self.quote}{self.raw}{self.quote}"


@dataclass(frozen=True)
class EnvFile:
    display_name: str
    entries: tuple[EnvEntry, ...]

    def get(self, key: str) -> EnvEntry | None:
        """The statement that sets ``key`` (the last one wins, as in Compose)."""
        return next((entry for entry in reversed(self.entries) if entry.key == key), None)

    def location(self, key: str) -> Location | None:
        entry = self.get(key)
        return Location(self.display_name, entry.line) if entry else None

    @property
    def settings(self) -> list[EnvEntry]:
        return [entry for entry in self.entries if entry.key.upper().startswith(CONTROL_PREFIXES)]

    def write(self) -> str:
        """The file Compose reads: every variable, none of Compose's own settings."""
        kept = [entry.write() for entry in self.entries if entry not in self.settings]
        return "".join(line + "\n" for line in kept)


def parse(text: str, display_name: str) -> EnvFile:
    """Every statement of a `.env` text, or ComposeLoadError naming the line, as Compose would."""
    parser = _Parser(text, display_name)
    return EnvFile(display_name, tuple(parser.statements()))


def _is_unicode_space(char: str) -> bool:
    """Go's unicode.IsSpace."""
    return char in "\t\n\v\f\r \x85\xa0" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


class _Parser:
    def __init__(self, text: str, display_name: str) -> None:
        self.text = text
        self.pos = 0
        self.display_name = display_name

    def line(self, pos: int | None = None) -> int:
        return self.text.count("\n", 0, self.pos if pos is None else pos) + 1

    def fail(self, message: str, pos: int | None = None) -> ComposeLoadError:
        line = self.line(pos)
        return ComposeLoadError(f"{self.display_name} line {line}: {message}",
                                location=Location(self.display_name, line),
                                hint="Write each variable as NAME=value on its own line; quote values that hold "
                                     "spaces or `#` (\"like this\").")

    def statements(self) -> list[EnvEntry]:
        entries = []
        while self._skip_to_statement():
            entry = self._statement()
            if entry is not None:
                entries.append(entry)
        return entries

    def _skip_to_statement(self) -> bool:
        text = self.text
        while True:
            while self.pos < len(text) and _is_unicode_space(text[self.pos]):
                self.pos += 1
            if self.pos >= len(text):
                return False
            if text[self.pos] != "#":
                return True
            end = text.find("\n", self.pos)
            if end < 0:
                return False
            self.pos = end

    def _statement(self) -> EnvEntry | None:
        start_line = self.line()
        if re.match(r"export[\t\n\f\r ]", self.text[self.pos:self.pos + 7]):
            self.pos += len("export")
            while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
                self.pos += 1
        key, inherited = self._key()
        if " " in key:
            raise self.fail("a variable name cannot contain a space")
        if inherited:
            return EnvEntry(key, "", "", start_line, inherited=True)
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1
        quote = self.text[self.pos] if self.pos < len(self.text) and self.text[self.pos] in "'\"" else ""
        raw = self._quoted(quote) if quote else self._unquoted()
        return EnvEntry(key, raw, quote, start_line)

    def _key(self) -> tuple[str, bool]:
        text, start = self.text, self.pos
        for index in range(start, len(text)):
            char = text[index]
            if char in _SPACE:
                continue
            if char in "=:\n":
                self.pos = index + 1
                return text[start:index].rstrip(), char == "\n"
            if char in "_.-[]" or char.isalpha() or char.isnumeric():
                continue
            shown = text[start:].split("\n", 1)[0]
            raise self.fail(f"unexpected character {char!r} in variable name {shown!r}", index)
        self.pos = len(text)
        return text[start:].rstrip(), True

    def _unquoted(self) -> str:
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end
        value = self.text[self.pos:end].split(" #", 1)[0].rstrip()
        self.pos = end
        return value

    def _quoted(self, quote: str) -> str:
        text, start = self.text, self.pos
        index = start + 1
        escaped = False
        while index < len(text):
            char = text[index]
            if char == "\\" and not escaped:
                escaped = True
            elif char == quote and not escaped:
                self.pos = index + 1
                return text[start + 1:index]
            else:
                escaped = False
            index += 1
        shown = text[start:].split("\n", 1)[0]
        # located where Compose stops reading (the end of the file), naming where the quote opened
        raise self.fail(f"the quoted value {shown} (opened on line {self.line(start)}) is never closed", len(text))
