"""`grader clean`: remove what gradings that were killed left on the engine and on disk."""
from __future__ import annotations

import sys

import click

from grader.cli.exit_codes import EXIT_USAGE
from grader.errors import EnvironmentProblem


@click.command("clean")
@click.option("--all", "remove_all", is_flag=True, help="Also remove what gradings still running own.")
@click.option("--build-cache", is_flag=True, help="Also remove the build cache the grader keeps for later builds.")
def clean(remove_all: bool, build_cache: bool) -> None:
    """Remove the containers, volumes, networks and images of gradings that were killed.

    Resources of gradings still running on this host are kept unless --all is given;
    nothing without the grader's label is ever touched.
    """
    from grader.docker.cleanup import clean as clean_up
    from grader.docker.cleanup import remove_build_cache

    try:
        cleaned = clean_up(remove_all)
        cache = remove_build_cache() if build_cache else []
    except EnvironmentProblem as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    if build_cache:
        click.echo(f"{len(cache)} build cache image(s) removed")
    click.echo(", ".join(f"{len(ids)} {kind}(s)" for kind, ids in cleaned.removed.items())
               + f" removed ({cleaned.total} in all); {len(cleaned.folders)} stale work folder(s) removed")
    if cleaned.kept_elsewhere:
        click.echo(f"{cleaned.kept_elsewhere} resource(s) of gradings in other containers or hosts were kept; "
                   "--all removes them too")
