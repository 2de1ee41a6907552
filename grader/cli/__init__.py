"""The command line: a thin layer over the library (`grader check`, `batch`, `report`, `worker`,
`dump`, `clean`)."""
from grader.cli.main import main, run

__all__ = ["main", "run"]
