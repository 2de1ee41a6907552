"""Another revision of this repository, to benchmark beside this checkout: exported with
`git archive` into a folder and run with `PYTHONPATH` pointing there (nothing is checked out here)."""
from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def export_revision(revision: str, into: Path) -> Path:
    """The tree of ``revision`` written into ``into`` (git archive: the repository is not touched)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", revision],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into
