"""`python -m grader.cli …` is the `grader` command."""
from grader.cli.main import run

run()
