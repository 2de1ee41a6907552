"""Reading redis-cli text (as OCR gives it) for a key holding a value.

What counts as evidence that ``student_name`` holds a value, in the order the lines show:
- ``GET student_name`` answered by a string on the next line: ``"Maria Garcia"`` (redis-cli in
  a terminal quotes strings; ``--raw`` or ``exec -T`` does not, so an unquoted answer with at
  least two letters counts too);
- ``SET student_name "Maria Garcia"`` answered ``OK``.
What takes it back: ``GET`` answered ``(nil)``, ``DEL student_name`` answered ``(integer) 1``.
The last of these in the picture decides. A command without its answer in the picture, an
``(error)`` answer, an empty string or another key never counts.

Tolerated, because OCR produces them: any prompt before the command (``127.0.0.1:6379>``,
``redis:6379>``, a shell running ``redis-cli GET ...``, a prompt cut off by cropping), any case,
the key read as ``student name``, ``studentname``, ``student-name`` or with one wrong letter,
curly or doubled quotes, a lost closing quote, ``0K``/``ok`` for ``OK``.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                         "\uff02": '"', "\u00ab": '"', "\u00bb": '"', "\u2018": "'", "\u2019": "'",
                         "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "\u00b4": "'"})
_COMMAND = re.compile(r"(?:^|[\s>$#:|\]])(GET|SET|DEL)\s+(\S.*)$", re.IGNORECASE)
_PROMPT_ONLY = re.compile(r"[>$#](\s+\S{1,3})?\s*$")  # a prompt, perhaps with the cursor read as []
_OK = re.compile(r"^[\"']?[O0o][Kk][.,]?[\"']?$")
_NIL = re.compile(r"^\(?\s*nil\s*\)?$", re.IGNORECASE)
_ERROR = re.compile(r"^\(?\s*error\s*\)|^ERR\b|^WRONGTYPE\b|^NOAUTH\b", re.IGNORECASE)
_DELETED = re.compile(r"^\(integer\)\s*[1-9]", re.IGNORECASE)
_KEY_NOISE = re.compile(r"[\s_\-.,~'\"]")
_SET_OPTIONS = frozenset({"NX", "XX", "GET", "EX", "PX", "EXAT", "PXAT", "KEEPTTL"})
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)")
_ESCAPED_CHARS = {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b"}
MAX_VALUE_CHARS = 200


@dataclass(frozen=True)
class KeySighting:
    """What the text shows about the key: ``evidence`` when it shows it holding ``value``."""

    evidence: bool
    value: str | None
    pattern: str  # "get-reply", "get-reply-unquoted", "set-ok" or "none"
    why: str
    lines: tuple[int, ...] = ()  # indices (in the lines given) of the command and its answer

    def to_dict(self) -> dict[str, Any]:
        return {"evidence": self.evidence, "value": self.value, "pattern": self.pattern,
                "why": self.why, "lines": list(self.lines)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeySighting:
        return cls(evidence=data["evidence"], value=data.get("value"), pattern=data["pattern"],
                   why=data["why"], lines=tuple(data.get("lines", ())))


def normalise(line: str) -> str:
    """Straight quotes, single spaces, no surrounding blanks."""
    return " ".join(line.translate(_QUOTES).split())


def key_matches(candidate: str, key: str) -> bool:
    """The same key once case, separators and quotes are ignored, up to one misread letter."""
    seen, wanted = _KEY_NOISE.sub("", candidate.lower()), _KEY_NOISE.sub("", key.lower())
    if seen == wanted:
        return True
    return len(wanted) >= 8 and len(seen) == len(wanted) and sum(a != b for a, b in zip(seen, wanted, strict=True)) == 1


def unescape(text: str) -> str:
    """redis-cli's escapes in a quoted string (``\\"``, ``\\n``, ``\\xc3\\xa9``) back to text."""
    raw = bytearray()
    position = 0
    for match in _ESCAPE.finditer(text):
        raw += text[position:match.start()].encode("utf-8")
        code = match.group(1)
        raw += bytes([int(code[1:], 16)]) if code.startswith("x") and len(code) == 3 else \
            _ESCAPED_CHARS.get(code, code).encode("utf-8")
        position = match.end()
    raw += text[position:].encode("utf-8")
    return raw.decode("utf-8", errors="replace")


def _quoted(text: str) -> str | None:
    """The content of a quoted string, tolerating a lost closing quote; None if not quoted."""
    if not text or text[0] not in "\"'":
        return None
    opening = text[0]
    body = text[1:]
    closing = body.rfind(opening)
    if closing < 0 and opening == '"':
        closing = body.rfind("'")  # OCR reads one " as '' or '
    body = body[:closing] if closing >= 0 else body.rstrip("\"'")
    return unescape(body.strip(" \"'")) if opening == '"' else body.strip(" \"'")


def _split_key(rest: str, key: str) -> tuple[bool, str, str]:
    """(whether the key is ``key``, the key as read, what follows it), the key up to two words."""
    words = rest.split(" ")
    for count in (1, 2):
        if len(words) >= count and key_matches("".join(words[:count]), key):
            return True, " ".join(words[:count]), " ".join(words[count:])
    return False, words[0].strip("\"'"), " ".join(words[1:])


def _set_value(arguments: str) -> str | None:
    quoted = _quoted(arguments)
    if quoted is not None:
        return quoted
    words: list[str] = []
    for word in arguments.split(" "):
        if word.upper() in _SET_OPTIONS:
            break
        words.append(word)
    return " ".join(words) or None


def _is_command_or_prompt(line: str) -> bool:
    return bool(_COMMAND.search(line) or _PROMPT_ONLY.search(line))


def _plausible(value: str | None) -> bool:
    """A name has letters: OCR crumbs and cursors ("[]", "|") do not count."""
    if not value:
        return False
    return sum(ch.isalpha() for ch in value) >= 2 and len(value) <= MAX_VALUE_CHARS


@dataclass
class _State:
    key: str
    sighting: KeySighting | None = None
    other_keys: list[str] = field(default_factory=list)
    loose_end: str | None = None  # our key's command whose answer is missing or unclear


def find_key_value(text: str | Sequence[str], key: str = "student_name") -> KeySighting:
    """Whether the redis-cli text shows ``key`` holding a value, and which, with why."""
    given = text.splitlines() if isinstance(text, str) else text
    lines = [(index, normalise(line)) for index, line in enumerate(given) if line.strip()]
    state = _State(key)
    for position, (index, line) in enumerate(lines):
        match = _COMMAND.search(line)
        if not match:
            continue
        ours, seen_key, arguments = _split_key(match.group(2), key)
        if not ours:
            state.other_keys.append(seen_key)
            continue
        command = match.group(1).upper()
        answer_index, answer = lines[position + 1] if position + 1 < len(lines) else (-1, "")
        if not answer or _is_command_or_prompt(answer):
            state.loose_end = f"{command} {key} is in the picture, but not its answer"
        elif not _answered(state, command, arguments, answer, (index, answer_index)):
            state.loose_end = f"{command} {key} is in the picture, but its answer ({answer[:40]}) shows no value"
    return state.sighting or _nothing(state)


def _answered(state: _State, command: str, arguments: str, answer: str, where: tuple[int, int]) -> bool:
    """Update what the text shows from one command of our key and its answer; False if unclear."""
    key = state.key
    if _ERROR.search(answer):
        if state.sighting is None or not state.sighting.evidence:
            state.sighting = KeySighting(False, None, "none", f"{command} {key} was refused: {answer}", where)
    elif command == "GET" and _NIL.match(answer):
        state.sighting = KeySighting(False, None, "none", f"GET {key} answered (nil): the key is not set", where)
    elif command == "DEL" and _DELETED.match(answer):
        state.sighting = KeySighting(False, None, "none", f"DEL {key} deleted the key", where)
    elif command == "GET" and _quoted(answer) == "":
        state.sighting = KeySighting(False, None, "none", f"GET {key} answered an empty string", where)
    elif command == "GET" and _plausible(shown := _quoted(answer) or answer):
        pattern = "get-reply" if _quoted(answer) is not None else "get-reply-unquoted"
        state.sighting = KeySighting(True, shown, pattern, f"GET {key} answered {answer}", where)
    elif command == "SET" and _OK.match(answer) and _plausible(stored := _set_value(arguments)):
        state.sighting = KeySighting(True, stored, "set-ok", f"SET {key} {arguments} answered OK", where)
    else:
        return False
    return True


def _nothing(state: _State) -> KeySighting:
    if state.loose_end:
        why = state.loose_end
    elif state.other_keys:
        why = f"no {state.key} in the picture (keys seen: {', '.join(dict.fromkeys(state.other_keys))})"
    else:
        why = f"no redis-cli command with {state.key} in the picture"
    return KeySighting(False, None, "none", why)
