"""`grader dump`: a student saves their running Redis data, to hand in with their files."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.cli.exit_codes import EXIT_USAGE
from grader.errors import EnvironmentProblem


@click.command("dump")
@click.argument("path", default=".", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--service", default="redis", show_default=True, help="The Redis service of your stack.")
def dump(path: Path, service: str) -> None:
    """Save your running Redis data as PATH/dump.rdb, to hand in with your files."""
    from grader.grading.dumping import DumpError, save_dump

    try:
        target = save_dump(path.resolve(), service)
    except (DumpError, EnvironmentProblem) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"Saved {target}. Submit it next to your Compose file.")
