"""compose-grader: grade Docker Compose assignments.

The public API is :func:`grade`; the CLI in :mod:`grader.cli.main` is a thin layer over it.
"""
from grader.results import CheckResult, GradeResult, Location, PolicyViolation, Status
from grader.version import __version__

__all__ = ["__version__", "grade", "CheckResult", "GradeResult", "Location", "PolicyViolation", "Status"]


def grade(*args, **kwargs) -> GradeResult:  # noqa: D103 - documented in grader.grading.engine.grade
    from grader.grading.engine import grade as _grade

    return _grade(*args, **kwargs)
