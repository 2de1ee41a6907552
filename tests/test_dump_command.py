"""`grader dump` saves a running stack's Redis data so that student-name passes on a fresh machine."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

COMPOSE = """\
services:
  redis:
    image: redis:alpine
    volumes:
      - redis_data:/data
volumes:
  redis_data:
"""


def compose(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "compose", "-p", folder.name, *args], cwd=folder, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.docker
def test_dump_then_grade(docker_engine, tmp_path: Path) -> None:
    folder = tmp_path / "dumptest"
    folder.mkdir()
    (folder / "docker-compose.yml").write_text(COMPOSE)
    try:
        assert compose(folder, "up", "-d").returncode == 0
        set_key = compose(folder, "exec", "-T", "redis", "redis-cli", "SET", "student_name", "Alan Turing")
        assert "OK" in set_key.stdout, set_key.stderr
        dumped = subprocess.run([sys.executable, "-m", "grader.cli", "dump", str(folder)], capture_output=True,
                                text=True, timeout=120)
        assert dumped.returncode == 0, dumped.stderr
    finally:
        compose(folder, "down", "-v", "-t", "1")
    assert (folder / "dump.rdb").read_bytes().startswith(b"REDIS")
    graded = subprocess.run([sys.executable, "-m", "grader.cli", "check", str(folder), "--json", "-", "--no-html"],
                            capture_output=True, text=True, timeout=300)
    student = next(c for c in json.loads(graded.stdout)["checks"] if c["id"] == "student-name")
    assert student["status"] == "passed" and "Alan Turing" in student["message"]


def test_dump_without_compose_file_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "grader.cli", "dump", str(tmp_path)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "no Compose file" in result.stderr and "Traceback" not in result.stderr
