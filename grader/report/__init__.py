"""Human-readable reports: one grading's HTML page, the class's gradebook and dashboard, other formats."""
from grader.report.html import render_html, write_html

__all__ = ["render_html", "write_html"]
