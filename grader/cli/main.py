"""`grader`: the command line, a thin layer over the library.

Each command lives in the module named after it (check, batch, report, worker, dump, clean);
how they end (exit codes, SIGTERM as Ctrl-C) is shared in exit_codes.py and signals.py. This
module is the group that holds them: the `grader` console script, and ``python -m grader.cli``.
"""
from __future__ import annotations

import click

from grader import __version__
from grader.cli.batch import batch
from grader.cli.check import check
from grader.cli.clean import clean
from grader.cli.dump import dump
from grader.cli.report import report
from grader.cli.worker import worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="grader")
def main() -> None:
    """Grade Docker Compose assignments: check, boot, probe, report."""


for _command in (check, dump, worker, clean, batch, report):
    main.add_command(_command)


if __name__ == "__main__":  # pragma: no cover
    main()
