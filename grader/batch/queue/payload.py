"""What travels in a grading task, and how a worker checks it before grading.

Workers accept JSON only, run only this task, and check each payload's kind, version,
archive size and (when a secret is shared) its HMAC, so nothing but a grading of this
grader ever runs on them.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from grader.batch.discovery import Submission
from grader.batch.downloads import work_prefix
from grader.batch.queue.config import QueueError
from grader.errors import GraderError
from grader.lms import LmsError, materialise
from grader.submission.archive import ArchiveError
from grader.rubric import Rubric

PAYLOAD_KIND = "compose-grader/grade"
PAYLOAD_VERSION = 4  # 2: workers beat while grading (grader/batch/queue/liveness.py); 3: the rubric is Rubric.to_dict();
# 4: the rubric carries visibility and due
MAX_ARCHIVE_BYTES = 20 * 1024 * 1024


class PayloadRefused(GraderError):
    """A worker refuses a task that is not a grading of this grader; the task fails with this reason."""


def rubric_to_dict(rubric: Rubric) -> dict[str, Any]:
    """The rubric as a task carries it (``Rubric.to_dict``), refused when it names extra check folders."""
    if rubric.extra_check_dirs:
        raise QueueError("extra_checks cannot travel to queue workers yet: install them on every worker, "
                         "or grade this rubric with a local batch")
    return rubric.to_dict()


def rubric_from_dict(data: dict[str, Any]) -> Rubric:
    return Rubric.from_dict(data)


def zip_folder(folder: Path, limit: int = MAX_ARCHIVE_BYTES) -> bytes:
    """The folder as zip bytes (symlinks kept as links, never followed), or QueueError over the cap."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder).as_posix()
            if path.is_symlink():
                info = zipfile.ZipInfo(relative)
                info.external_attr = 0o120777 << 16
                archive.writestr(info, os.readlink(path))
            elif path.is_file():
                archive.write(path, relative)
            if buffer.tell() > limit:
                raise QueueError(f"{folder.name} is larger than {limit // 2**20} MiB zipped; "
                                 "the queue carries submissions up to that size")
    return buffer.getvalue()


def submission_bytes(source: Path, limit: int = MAX_ARCHIVE_BYTES) -> bytes:
    if source.is_dir():
        return zip_folder(source, limit)
    if source.stat().st_size > limit:
        raise QueueError(f"{source.name} is larger than {limit // 2**20} MiB; the queue carries up to that size")
    return source.read_bytes()


def task_archive(submission: Submission, limit: int = MAX_ARCHIVE_BYTES) -> bytes:
    """What a task carries of a submission: its zip, its folder zipped, or an LMS student's files as a folder zipped."""
    if submission.lms is None:
        return submission_bytes(submission.source, limit)
    with tempfile.TemporaryDirectory(prefix=work_prefix()) as work:
        try:
            folder = materialise(submission.lms, submission.source, work).folder
        except (LmsError, ArchiveError) as exc:  # the student's files cannot leave the download: reported, not sent
            raise QueueError(f"{submission.id}: {exc}") from exc
        return zip_folder(folder, limit)


def _sign(payload: dict[str, Any], secret: bytes | None) -> str | None:
    if secret is None:
        return None
    body = json.dumps({k: v for k, v in payload.items() if k != "signature"}, sort_keys=True).encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def make_payload(name: str, archive: bytes, rubric: Rubric, mode: str, secret: bytes | None) -> dict[str, Any]:
    payload = {"kind": PAYLOAD_KIND, "version": PAYLOAD_VERSION, "name": name, "mode": mode,
               "rubric": rubric_to_dict(rubric), "archive": base64.b64encode(archive).decode()}
    payload["signature"] = _sign(payload, secret)
    return payload


def check_payload(payload: Any, secret: bytes | None) -> None:
    """Refuse anything that is not a grading task of this grader; the coordinator sees the reason."""
    if not isinstance(payload, dict) or payload.get("kind") != PAYLOAD_KIND:
        raise PayloadRefused("not a compose-grader grading task")
    if payload.get("version") != PAYLOAD_VERSION:
        raise PayloadRefused(f"payload version {payload.get('version')!r} is not {PAYLOAD_VERSION}: "
                             "run the same grader version on the coordinator and the workers")
    if secret is not None and not hmac.compare_digest(str(payload.get("signature")), _sign(payload, secret) or ""):
        raise PayloadRefused("bad signature: the coordinator does not share this worker's secret")
    if len(str(payload.get("archive", ""))) > MAX_ARCHIVE_BYTES * 4 // 3 + 4:
        raise PayloadRefused("archive over the size cap")
