"""Grading one submission: the engine, loading, the pytest plugin and context, probes of the running services."""
