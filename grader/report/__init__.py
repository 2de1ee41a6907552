"""Human-readable reports of a grading (the dict from ``GradeResult.to_dict()``)."""
from grader.report.html import render_html, write_html

__all__ = ["render_html", "write_html"]
