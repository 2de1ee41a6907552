"""A rule's finding before it is located in the student's files and merged with the others."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    rule: str
    subject: str                  # "service:web", "volume:data" ...
    detail: str | None            # tells apart several findings of one rule on one subject
    keypath: tuple[Any, ...]      # where in the Compose files the offending key sits
    message: str
    hint: str = ""
