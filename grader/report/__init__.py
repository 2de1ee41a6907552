"""Human-readable reports: one grading's HTML page, the class's gradebook and dashboard, other formats.

``render_html`` and ``write_html`` are loaded when first asked for, so that a module of this
layer (the attempts record of `grader check --no-html`, say) does not load Jinja2 with it.
"""
from __future__ import annotations

from typing import Any

__all__ = ["render_html", "write_html"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from grader.report import html

        return getattr(html, name)
    raise AttributeError(f"module 'grader.report' has no attribute {name!r}")
