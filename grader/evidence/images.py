"""A submission's pictures: found safely, decoded only as PNG or JPEG, embedded re-encoded.

A picture is untrusted input, so:
- it is recognised by its first bytes (PNG or JPEG magic), whatever its name says;
- symbolic links are never followed: the walk opens each folder and file relative to its
  parent's descriptor with O_NOFOLLOW, so nothing outside the submission folder is read;
- at most ``max_count`` pictures of at most ``max_bytes`` each, and at most ``max_pixels``
  declared in the header, checked before any pixel is decoded (decompression bombs);
- only Pillow's PNG and JPEG decoders are allowed, and what is shown in a report is a fresh
  re-encoding of the decoded pixels (downscaled, no metadata), never the file's own bytes.
"""
from __future__ import annotations

import base64
import io
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError
from grader.evidence.extras import pillow_missing

if TYPE_CHECKING:  # Pillow is optional (the evidence extra)
    from PIL.Image import Image

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
# Names that promise a picture: when one is not a PNG or JPEG, the scan says why it is not used.
PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".gif", ".webp", ".bmp",
                              ".tif", ".tiff", ".heic", ".heif", ".avif", ".svg"})
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__", ".venv", "venv", ".idea", ".vscode"})
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class PictureRefused(GraderError):
    """A file that will not be decoded; the message says why, for the report."""


@dataclass(frozen=True)
class ImageLimits:
    max_count: int = 10
    max_bytes: int = 5 * 1024 * 1024
    max_pixels: int = 25_000_000        # a 12 MP phone photo fits twice over
    max_depth: int = 6
    max_entries: int = 5000             # directory entries looked at, in all
    decode_side: int = 2400             # JPEGs are decoded reduced to about this size


@dataclass(frozen=True)
class FoundImage:
    """A picture in the submission (path relative to it, with / separators)."""

    path: str
    kind: str  # "png" or "jpeg", from the file's first bytes
    size_bytes: int
    width: int | None = None   # from the header; None when Pillow is missing
    height: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "size_bytes": self.size_bytes,
                "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FoundImage:
        return cls(path=data["path"], kind=data["kind"], size_bytes=data["size_bytes"],
                   width=data.get("width"), height=data.get("height"))


@dataclass(frozen=True)
class RejectedFile:
    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RejectedFile:
        return cls(path=data["path"], reason=data["reason"])


@dataclass(frozen=True)
class ImageScan:
    images: tuple[FoundImage, ...] = ()
    rejected: tuple[RejectedFile, ...] = ()
    skipped: str | None = None  # an optional part that is missing, in one line

    def to_dict(self) -> dict[str, Any]:
        return {"images": [image.to_dict() for image in self.images],
                "rejected": [item.to_dict() for item in self.rejected], "skipped": self.skipped}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageScan:
        return cls(images=tuple(FoundImage.from_dict(item) for item in data.get("images", [])),
                   rejected=tuple(RejectedFile.from_dict(item) for item in data.get("rejected", [])),
                   skipped=data.get("skipped"))


@dataclass(frozen=True)
class EmbeddedImage:
    """A picture re-encoded for a self-contained page: ``<img src="{data_uri}">``."""

    mime: str
    width: int
    height: int
    data_uri: str

    @property
    def size_bytes(self) -> int:
        return len(self.data_uri)

    def to_dict(self) -> dict[str, Any]:
        return {"mime": self.mime, "width": self.width, "height": self.height, "data_uri": self.data_uri}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmbeddedImage:
        return cls(mime=data["mime"], width=data["width"], height=data["height"], data_uri=data["data_uri"])


# Finding ----------------------------------------------------------------------------------------

@dataclass
class _Walk:
    limits: ImageLimits
    candidates: list[tuple[str, str, int]] = field(default_factory=list)  # (path, kind, size)
    rejected: list[RejectedFile] = field(default_factory=list)
    entries: int = 0


def find_images(folder: Path, limits: ImageLimits = ImageLimits()) -> ImageScan:
    """The PNG and JPEG pictures under ``folder``, and each picture-like file refused, with why."""
    walk = _Walk(limits)
    folder = folder.resolve()  # the folder itself is the caller's; only what is inside is untrusted
    try:
        root = os.open(folder, _OPEN_FLAGS | os.O_DIRECTORY)
    except OSError as error:
        return ImageScan(rejected=(RejectedFile("", f"cannot open the submission folder: {error.strerror}"),))
    try:
        _walk_folder(walk, root, "", 0)
    finally:
        os.close(root)
    if walk.entries > limits.max_entries:
        walk.rejected.append(RejectedFile("", f"the folder has more than {limits.max_entries} entries: "
                                              "the rest were not looked at"))
    images: list[FoundImage] = []
    for tried, (path, kind, size) in enumerate(sorted(walk.candidates)):
        # Refused ones do not use up the cap, but only so many are opened: each may be 5 MiB.
        if len(images) >= limits.max_count or tried >= 2 * limits.max_count:
            walk.rejected.append(RejectedFile(path, f"over the cap of {limits.max_count} pictures "
                                                    "per submission: not read"))
            continue
        try:
            images.append(_with_header(folder, path, kind, size, limits))
        except PictureRefused as refused:
            walk.rejected.append(RejectedFile(path, str(refused)))
    return ImageScan(tuple(images), tuple(sorted(walk.rejected, key=lambda item: item.path)), pillow_missing())


def _walk_folder(walk: _Walk, dir_fd: int, prefix: str, depth: int) -> None:
    with os.scandir(dir_fd) as listing:
        entries = sorted(listing, key=lambda entry: entry.name)
    for entry in entries:
        walk.entries += 1
        if walk.entries > walk.limits.max_entries:
            return
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                _look_at_file(walk, dir_fd, entry.name, prefix + entry.name, info)
            elif entry.name not in SKIPPED_DIRS and depth < walk.limits.max_depth:
                child = os.open(entry.name, _OPEN_FLAGS | os.O_DIRECTORY, dir_fd=dir_fd)
                try:
                    _walk_folder(walk, child, prefix + entry.name + "/", depth + 1)
                finally:
                    os.close(child)
        # Unreadable, or changed since it was listed (a folder swapped for a link gives ELOOP).
        except (OSError, PictureRefused) as error:
            reason = error.strerror if isinstance(error, OSError) else str(error)
            walk.rejected.append(RejectedFile(prefix + entry.name, f"cannot be read: {reason}"))


def _look_at_file(walk: _Walk, dir_fd: int, name: str, rel: str, info: os.stat_result) -> None:
    promised = Path(name).suffix.lower() in PICTURE_SUFFIXES
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISREG(info.st_mode):
        if promised:
            what = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
            walk.rejected.append(RejectedFile(rel, f"is {what}: not followed or read"))
        return
    head = _read(dir_fd, name, len(PNG_MAGIC))
    kind = "png" if head.startswith(PNG_MAGIC) else "jpeg" if head.startswith(JPEG_MAGIC) else None
    if kind is None:
        if promised:
            walk.rejected.append(RejectedFile(rel, "is not a PNG or JPEG picture (its content is not one, "
                                                   "whatever its name says)"))
        return
    if info.st_size > walk.limits.max_bytes:
        walk.rejected.append(RejectedFile(rel, f"is {_mib(info.st_size)}, over the {_mib(walk.limits.max_bytes)} "
                                               "cap per picture: not read"))
        return
    walk.candidates.append((rel, kind, info.st_size))


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


# Reading ----------------------------------------------------------------------------------------

def _read(dir_fd: int | None, path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file, never through a symbolic link."""
    fd = os.open(path, _OPEN_FLAGS, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PictureRefused("is not a regular file: not read")
        with os.fdopen(os.dup(fd), "rb") as stream:
            return stream.read(limit)
    finally:
        os.close(fd)


def read_bytes(folder: Path, path: str, limits: ImageLimits = ImageLimits()) -> bytes:
    """A found picture's bytes, opened component by component without following links."""
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise PictureRefused("is not a plain path inside the submission: not read")
    try:
        fds = [os.open(folder.resolve(), _OPEN_FLAGS | os.O_DIRECTORY)]
    except OSError as error:
        raise PictureRefused(f"cannot be read: {error.strerror or error}") from error
    try:
        for part in parts[:-1]:
            fds.append(os.open(part, _OPEN_FLAGS | os.O_DIRECTORY, dir_fd=fds[-1]))
        data = _read(fds[-1], parts[-1], limits.max_bytes + 1)
    except OSError as error:  # gone, replaced by a link (ELOOP) or unreadable since the scan
        raise PictureRefused(f"cannot be read: {error.strerror or error}") from error
    finally:
        for fd in fds:
            os.close(fd)
    if len(data) > limits.max_bytes:
        raise PictureRefused(f"is over the {_mib(limits.max_bytes)} cap per picture: not read")
    return data


def _open_checked(data: bytes, limits: ImageLimits) -> Image:
    """Pillow's lazy open (header only), PNG or JPEG only, with the pixel cap checked."""
    from PIL import Image as PILImage

    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            picture = PILImage.open(io.BytesIO(data), formats=["PNG", "JPEG"])
        # Pillow's own guard, for sizes far past ours: the header is all it read.
        except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as error:
            raise PictureRefused(f"declares far more than the {limits.max_pixels / 1e6:.0f} MP cap "
                                 "(a decompression bomb?): not decoded") from error
        # What Pillow raises for a file it cannot parse.
        except (OSError, SyntaxError, ValueError) as error:
            raise PictureRefused(f"cannot be decoded as PNG or JPEG ({_short(error)})") from error
    width, height = picture.size
    if width * height > limits.max_pixels:
        raise PictureRefused(f"declares {width}×{height} pixels ({width * height / 1e6:.0f} MP), over the "
                             f"{limits.max_pixels / 1e6:.0f} MP cap: not decoded")
    return picture


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:120]


def _with_header(folder: Path, path: str, kind: str, size: int, limits: ImageLimits) -> FoundImage:
    if pillow_missing():
        return FoundImage(path, kind, size)
    picture = _open_checked(read_bytes(folder, path, limits), limits)
    return FoundImage(path, kind, size, *picture.size)


def decode(folder: Path, found: FoundImage, limits: ImageLimits = ImageLimits()) -> Image:
    """The picture's pixels (upright, RGB or grayscale, first frame); raises PictureRefused."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    picture = _open_checked(read_bytes(folder, found.path, limits), limits)
    if picture.format in ("JPEG", "MPO"):
        picture.draft("RGB", (limits.decode_side, limits.decode_side))  # decode reduced: faster, less memory
    try:
        picture.load()
        upright = ImageOps.exif_transpose(picture)
    # Truncated or corrupt data shows only now, when the pixels are decoded.
    except (OSError, SyntaxError, ValueError, EOFError, PILImage.DecompressionBombError) as error:
        raise PictureRefused(f"cannot be decoded ({_short(error)})") from error
    mode = "L" if upright.mode in ("1", "L", "I;16", "I") else "RGB"
    return upright.convert(mode)


# (share of max_side, format, JPEG quality): tried in turn until one fits the byte cap.
_ENCODINGS = ((1.0, "PNG", 0), (1.0, "PNG-PALETTE", 0), (0.75, "PNG-PALETTE", 0), (1.0, "JPEG", 80),
              (1.0, "JPEG", 60), (0.75, "JPEG", 50), (0.5, "JPEG", 40), (0.25, "JPEG", 40))


def _encoded(picture: Image, max_side: int, share: float, fmt: str, quality: int) -> tuple[bytes, int, int]:
    from PIL import Image as PILImage

    image = picture.convert("RGB") if picture.mode not in ("RGB", "L") else picture.copy()
    side = max(16, int(max_side * share))
    image.thumbnail((side, side), PILImage.Resampling.LANCZOS)
    out = io.BytesIO()
    if fmt == "PNG-PALETTE":
        image.quantize(64).save(out, "PNG", optimize=True)  # 64 colours: plenty for a terminal or a page
    elif fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    else:
        image.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue(), image.width, image.height


def fit_png(picture: Image, max_side: int = 800, max_bytes: int = 200_000) -> tuple[bytes, int, int]:
    """A PNG of at most ``max_side`` pixels a side and ``max_bytes`` bytes: (data, width, height)."""
    for share, fmt, quality in (*_ENCODINGS[:3], (0.5, "PNG-PALETTE", 0), (0.25, "PNG-PALETTE", 0)):
        data, width, height = _encoded(picture, max_side, share, fmt, quality)
        if len(data) <= max_bytes:
            return data, width, height
    raise PictureRefused(f"does not fit the {max_bytes // 1000} kB cap even downscaled")


def embed(picture: Image, max_side: int = 800, max_bytes: int = 150_000) -> EmbeddedImage:
    """A downscaled re-encoding as a data URI of at most ``max_bytes``: PNG when it fits, else
    a 64-colour PNG (fine for terminals), else JPEG smaller and coarser. No metadata is kept."""
    for share, fmt, quality in _ENCODINGS:
        data, width, height = _encoded(picture, max_side, share, fmt, quality)
        mime = "image/jpeg" if fmt == "JPEG" else "image/png"
        data_uri = data_uri_of(data, mime)
        if len(data_uri) <= max_bytes:
            return EmbeddedImage(mime, width, height, data_uri)
    raise PictureRefused(f"does not fit the {max_bytes // 1000} kB cap even downscaled")


def data_uri_of(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
