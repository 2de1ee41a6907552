"""`grader dump`: save the student's running Redis data as dump.rdb next to their Compose file,
so student-name can pass when the instructor grades on a fresh machine."""
from __future__ import annotations

from pathlib import Path

from grader.docker.compose import ComposeProject, detect_cli
from grader.errors import CommandError, GraderError
from grader.submission.workspace import find_compose_file


class DumpError(GraderError):
    """The data could not be saved; the message says what to do."""


def save_dump(folder: Path, service: str = "redis", data_dir: str = "/data") -> Path:
    """Run SAVE in the running Redis service and copy its dump.rdb into ``folder``."""
    compose_file = find_compose_file(folder)
    if compose_file is None:
        raise DumpError(f"no Compose file in {folder}: run this in the folder of your docker-compose.yml")
    project = ComposeProject(detect_cli(), None, folder, (compose_file,))
    target = folder / "dump.rdb"
    try:
        project.run("exec", "-T", service, "redis-cli", "SAVE", timeout=60)
        project.run("cp", f"{service}:{data_dir}/dump.rdb", str(target), timeout=60)
    except CommandError as exc:
        raise DumpError(
            f"could not save the data of service '{service}': {exc.output_tail(3) or exc}. "
            "Is the stack running (`docker compose up -d`)?"
        ) from exc
    return target
