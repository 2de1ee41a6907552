"""`grader`: the command line, a thin layer over the library.

Each command lives in the module named after it (check, batch, report, worker, dump, clean);
how they end (exit codes, SIGTERM as Ctrl-C) is shared in exit_codes.py and signals.py. This
module is the group that holds them: the `grader` console script, and ``python -m grader.cli``.
"""
from __future__ import annotations

import importlib
from typing import Any

import click

from grader import __version__
from grader.cli.exit_codes import exit_without_teardown

# Each command is imported only when it runs (or when --help lists them): `grader check --static`
# should not pay for loading the batch machinery, Celery or the dashboard.
COMMANDS = {"check": "grader.cli.check", "dump": "grader.cli.dump", "worker": "grader.cli.worker",
            "clean": "grader.cli.clean", "batch": "grader.cli.batch", "report": "grader.cli.report"}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> Any:
        module = COMMANDS.get(name)
        return getattr(importlib.import_module(module), name) if module else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade Docker Compose assignments: check, boot, probe, report."""


def run() -> None:
    """The `grader` console script and `python -m grader.cli`: ``main``, then a quick exit."""
    try:
        main()
    except SystemExit as exc:
        exit_without_teardown(exc.code)
    exit_without_teardown(0)


if __name__ == "__main__":  # pragma: no cover
    run()
