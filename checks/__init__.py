"""The default rubric: one pytest test function per rubric item (see docs/checks.md)."""
