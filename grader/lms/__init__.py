"""From an LMS: bulk downloads in (the grade files that go back are grader/report/formats/lms.py).

Instructors who do not use GitHub Classroom download every submission from their LMS and
upload the grades back. This package reads those downloads:

- ``read_download(folder, lms=None, groups=False)`` (grader/lms/download.py): which LMS named
  the files (or ``lms=``), and one ``LmsSubmission`` per student: their ``Identity`` (name,
  LMS ids, late, group, anonymous, attempt time) and their files (path in the download, name
  the student gave it). ``opened(path)`` accepts the zip as downloaded.
- ``materialise(submission, download_root, target)`` (grader/lms/materialise.py): the
  submission as a folder of its own, under the original names, for ``grader.grade``.

Each LMS's naming is in its module (canvas.py, moodle.py, blackboard.py, brightspace.py),
with what was verified against the LMS's own code or documentation and what was not;
docs/lms.md sums it up.
"""
from grader.lms.download import detect, opened, read_download
from grader.lms.materialise import Materialised, materialise
from grader.lms.model import LMS_NAMES, Download, Identity, Ignored, LmsError, LmsSubmission, SubmittedFile

__all__ = [
    "LMS_NAMES", "Download", "Identity", "Ignored", "LmsError", "LmsSubmission", "Materialised", "SubmittedFile",
    "detect", "materialise", "opened", "read_download",
]
