"""The grader's own cache folder on this machine (never in a submission, never shared between users).

``$XDG_CACHE_HOME/compose-grader`` or ``~/.cache/compose-grader``, created private (0700). What
lives there can always be made again (which Compose CLI is installed, compiled report templates);
when the folder cannot be made or written, callers go on without it.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path | None:
    """The cache folder, created if needed; None where it cannot be (read-only home, no home)."""
    base = os.environ.get("XDG_CACHE_HOME") or (str(Path.home() / ".cache") if Path.home() != Path("/") else "")
    if not base:
        return None
    folder = Path(base) / "compose-grader"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None
