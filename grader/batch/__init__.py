"""Grading many submissions: discovery, the local process pool and the Celery queue."""
