"""Grading a whole class: every sub-folder or ``.zip`` of a folder, on this machine or on a queue.

``grade_batch()`` (grader/batch/run.py) is the library entry point; ``grader batch``
(grader/cli/batch.py) is a thin layer over it. Inside: discovery.py (what a folder holds, and
content hashes), previous.py (grades the last run left that still hold), source.py (one
submission graded, or its "not graded" result), backend.py (the interface both ways of
running gradings share: pool.py, a local process pool; queue/, Celery workers), events.py
(what flows between them), machine.py (how many gradings this machine holds), roster.py.
"""
from grader.batch.events import BatchEvent, BatchResult
from grader.batch.machine import default_jobs
from grader.batch.run import grade_batch

__all__ = ["BatchEvent", "BatchResult", "default_jobs", "grade_batch"]
