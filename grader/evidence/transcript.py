"""A redis-cli exchange as a terminal-style transcript: data for JSON, and escaped HTML.

Replies are shown as redis-cli prints them in a terminal (``"Maria Garcia"``, ``(nil)``,
``(integer) 3``); run it with ``--no-raw`` to get that form without a terminal. Everything
comes from the student's stack, so it is cleaned (terminal escapes and control characters
dropped, lines and their number capped) and HTML-escaped; the markup uses classes only, styled
by ``TRANSCRIPT_CSS``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup, escape

from grader.evidence_record import CliExchange

MAX_LINE_CHARS = 300
MAX_LINES = 60
_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")

TRANSCRIPT_CSS = """
.terminal{background:#1e1e1e;color:#d4d4d4;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
  padding:.75em 1em;border-radius:6px;overflow-x:auto;white-space:pre-wrap;word-break:break-word;margin:.5em 0}
.terminal .t-title{color:#8a8a8a}
.terminal .t-prompt{color:#6a9955}
.terminal .t-command{color:#ffffff;font-weight:600}
.terminal .t-string{color:#ce9178}
.terminal .t-nil,.terminal .t-integer{color:#569cd6}
.terminal .t-error{color:#f48771}
.t-note{font-style:italic;margin:.25em 0 .75em}
"""


def clean(text: str) -> str:
    """One line as it may be shown: no terminal escapes, no control characters, capped."""
    line = _CONTROL.sub("", _ANSI.sub("", text.replace("\t", "    ")))
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS - 1] + "…"


# One command and its reply lines: the same record a grading keeps (grader/evidence_record.py).
Exchange = CliExchange


@dataclass(frozen=True)
class Transcript:
    """What was typed at redis-cli and what it answered, under an optional title line."""

    exchanges: tuple[Exchange, ...] = ()
    prompt: str = "127.0.0.1:6379"
    title: str | None = None   # e.g. the command that started redis-cli
    note: str | None = None    # e.g. "the redis image has no redis-cli"

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "title": self.title, "note": self.note,
                "exchanges": [exchange.to_dict() for exchange in self.exchanges]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        return cls(exchanges=tuple(Exchange.from_dict(item) for item in data.get("exchanges", ())),
                   prompt=str(data.get("prompt") or "127.0.0.1:6379"), title=data.get("title"),
                   note=data.get("note"))

    def lines(self) -> list[tuple[str, str]]:
        """(kind, text) per shown line, cleaned and capped; kinds name the CSS classes."""
        shown: list[tuple[str, str]] = [("title", "$ " + clean(self.title))] if self.title else []
        for exchange in self.exchanges:
            shown.append(("command", clean(exchange.command)))
            shown += [(reply_kind(line), clean(line)) for line in exchange.reply]
        if len(shown) > MAX_LINES:
            hidden = len(shown) - MAX_LINES + 1
            shown = shown[:MAX_LINES - 1] + [("title", f"… {hidden} more lines not shown")]
        return shown


def reply_kind(line: str) -> str:
    stripped = line.strip()
    if stripped.startswith("(error)"):
        return "error"
    if stripped == "(nil)":
        return "nil"
    if stripped.startswith("(integer)"):
        return "integer"
    return "string" if stripped.startswith('"') else "reply"


def render_html(transcript: Transcript) -> Markup:
    """The transcript as a ``<pre class="terminal">`` block; every piece of text is escaped."""
    prompt = escape(clean(transcript.prompt) + ">")
    rows = []
    for kind, text in transcript.lines():
        if kind == "command":
            rows.append(Markup('<span class="t-prompt">{}</span> <span class="t-command">{}</span>')
                        .format(prompt, text))
        else:
            rows.append(Markup('<span class="t-{}">{}</span>').format(kind, text))
    html = Markup('<pre class="terminal">{}</pre>').format(Markup("\n").join(rows))
    if transcript.note:
        html += Markup('<p class="t-note">{}</p>').format(clean(transcript.note))
    return html
