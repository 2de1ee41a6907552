"""Typed errors. Each carries what a person needs to act on it."""
from __future__ import annotations

from collections.abc import Sequence

from grader.results import Location


class GraderError(Exception):
    """Base of every error the grader raises on purpose."""


class SubmissionError(GraderError):
    """The submission cannot be graded as handed in (a student's problem, reported as a result)."""

    def __init__(self, message: str, location: Location | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.hint = hint


class ComposeLoadError(SubmissionError):
    """The Compose file is missing, unreadable, unsafe to parse or not valid Compose."""


class EnvironmentProblem(GraderError):
    """The machine cannot do what was asked (no Docker engine, no Compose): a fault of the environment."""


class CommandError(GraderError):
    """A subprocess failed; carries the command and its output."""

    def __init__(self, message: str, argv: Sequence[str], returncode: int | None, stdout: str, stderr: str,
                 *, truncated: bool = False) -> None:
        super().__init__(message)
        self.argv = list(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.truncated = truncated  # stdout/stderr hold only the end of what the command printed

    def output_tail(self, lines: int = 30) -> str:
        text = (self.stdout + "\n" + self.stderr).strip()
        return "\n".join(text.splitlines()[-lines:])


class CommandFailed(CommandError):
    """The command ran and exited non-zero."""


class OutputTooLarge(CommandFailed):
    """The command printed more than the runner reads of any command; its whole process group was killed."""


class CommandTimeout(CommandError):
    """The command ran past its time limit; its whole process group was killed."""


class DockerUnavailable(CommandError, EnvironmentProblem):
    """The Docker engine cannot be reached (not installed, not running, or gone mid-run)."""


class ComposeMissing(EnvironmentProblem):
    """Neither `docker compose` nor `docker-compose` is installed."""
