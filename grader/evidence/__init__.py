"""Evidence of the deliverables (issue 14): the student's screenshots and the grader's own.

- ``images``: find a submission's pictures safely and decode or embed them;
- ``ocr`` and ``redis_text``: read a screenshot's text and look for the key holding a value;
- ``browser``: screenshots of a page with a headless Chromium;
- ``transcript``: a redis-cli exchange as a terminal-style transcript;
- ``extras``: which optional parts are installed, and one line about each that is not.

Every optional dependency (Pillow, pytesseract with tesseract, playwright with chromium) is
imported lazily: without it a function returns a result saying what it skipped.
"""
