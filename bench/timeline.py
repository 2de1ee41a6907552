"""Where one `grader check` spends its time: every command it ran, when and for how long.

    python bench/timeline.py sample_submissions/redis_only [grader check options]

Runs the grading with GRADER_COMMAND_LOG set and prints the commands in the order they started
(seconds from the grader's start), then the time before the first and after the last command.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def shown(argv: list[str]) -> str:
    """A command as read in a timeline: Compose's options (project, files, folder) left out."""
    compose = 2 if argv[:2] == ["docker", "compose"] else 1 if argv[0].endswith("cli-plugins/docker-compose") else 0
    if compose:
        rest, skip = [], False
        for arg in argv[compose:]:
            if skip:
                skip = False
            elif arg in ("-p", "-f", "--project-directory", "--env-file"):
                skip = True
            else:
                rest.append(arg)
        return "docker compose " + " ".join(rest)
    return " ".join(argv)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory(prefix="bench-timeline-") as tmp:
        log = Path(tmp) / "commands.jsonl"
        env["GRADER_COMMAND_LOG"] = str(log)
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "grader.cli", "check", *sys.argv[1:], "--json", str(Path(tmp) / "r.json"),
                        "--no-html"], env=env, capture_output=True, timeout=900)
        ended = time.monotonic()
        rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    for row in sorted(rows, key=lambda row: row["started"]):
        print(f"{row['started'] - started:6.2f} s  {row['seconds']:5.2f} s  {shown(row['argv'])[:110]}")
    if rows:
        first = min(row["started"] for row in rows)
        last = max(row["started"] + row["seconds"] for row in rows)
        print(f"wall {ended - started:.2f} s: {first - started:.2f} s before the first command, "
              f"{ended - last:.2f} s after the last")


if __name__ == "__main__":
    main()
