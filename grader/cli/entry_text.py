"""How the terminal shows one graded entry of a class: its score, and its state in words and colour.

Shared by the live progress views and the class summary, so a state reads the same in both.
"""
from __future__ import annotations

from typing import Any

from rich.text import Text

from grader.report import gradebook

STATE_STYLES = {"passed": "green", "failed": "red", "refused": "bold red", "error": "magenta", "missing": "dim"}
STATE_WORDS = {"passed": "passed", "failed": "not passed", "refused": "refused", "error": "error"}


def score_text(entry: dict[str, Any]) -> str:
    """`7 / 10`; a missing score reads 0."""
    return f"{gradebook.csv_points(entry.get('score')) or 0} / {gradebook.csv_points(entry.get('max_score')) or 0}"


def state_word(state: str) -> str:
    return STATE_WORDS.get(state, state)


def outcome_text(entry: dict[str, Any]) -> Text:
    """The score and the state in words, coloured by the state."""
    state = gradebook.state(entry)
    return Text(f"{score_text(entry)}  {state_word(state)}", style=STATE_STYLES.get(state, ""))
