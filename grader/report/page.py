"""What the HTML pages share: the Jinja2 environment, its filters, and the status words and marks.

Autoescaping is always on, whatever a template's extension (.j2 included), so names, folder names
and messages from students can never inject markup.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from grader.results import Location, points_text
from grader.user_cache import cache_dir

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

STATUS_LABELS = {"passed": "Passed", "failed": "Failed", "skipped": "Skipped", "error": "Error"}
STATUS_ICONS = {"passed": "\u2713", "failed": "\u2717", "skipped": "\u2013", "error": "!"}

_BACKTICKS = re.compile(r"`([^`\n]+)`")


def where(location: Location | None) -> str:
    return str(location) if location else ""


def prose(text: Any) -> Markup:
    """Escape ``text``, then show `backticked` spans as ``<code>``.

    Escaping happens first, so the only markup in the result is the ``<code>``
    tags added here: student-controlled text can never inject HTML.
    """
    escaped = str(escape("" if text is None else text))
    return Markup(_BACKTICKS.sub(r"<code>\1</code>", escaped))


def _compiled_templates() -> FileSystemBytecodeCache | None:
    """Compiled templates kept in the user's cache folder: compiling the report's template was a
    sixth of a static `grader check`. Jinja checks each entry against its template's source."""
    folder = cache_dir()
    if folder is None:
        return None
    templates = folder / "templates"
    try:
        templates.mkdir(mode=0o700, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(templates))


def seconds(value: Any) -> str:
    try:
        duration = float(value)
    except (TypeError, ValueError):
        return ""
    if duration < 1:
        return f"{duration * 1000:.0f} ms"
    if duration < 60:
        return f"{duration:.1f} s"
    minutes, rest = divmod(int(round(duration)), 60)
    return f"{minutes} min {rest} s"


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                      bytecode_cache=_compiled_templates())
    env.filters.update(num=points_text, where=where, seconds=seconds, prose=prose)
    return env
