"""Finding a submission's pictures: by content, capped, no links followed, decoded only as PNG or
JPEG, embedded as a fresh re-encoding without metadata. Real files in a temp folder."""
from __future__ import annotations

import base64
import io
import json
import os
import struct
import sys
import zlib
from pathlib import Path

import pytest

PIL = pytest.importorskip("PIL", reason="the evidence extra (Pillow) is not installed")
from PIL import Image  # noqa: E402

from grader.evidence import images  # noqa: E402
from grader.evidence.images import (  # noqa: E402
    ImageLimits, ImageScan, PictureRefused, decode, embed, find_images, fit_png, read_bytes)


def png_bytes(width: int = 40, height: int = 20, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header declares ``width`` x ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return images.PNG_MAGIC + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def reasons(scan: ImageScan) -> dict[str, str]:
    return {item.path: item.reason for item in scan.rejected}


def test_png_named_jpg_is_found_as_png(tmp_path: Path) -> None:
    (tmp_path / "shot.jpg").write_bytes(png_bytes())
    scan = find_images(tmp_path)
    found = [(image.path, image.kind, image.width, image.height) for image in scan.images]
    assert found == [("shot.jpg", "png", 40, 20)]
    assert scan.rejected == () and scan.skipped is None


def test_picture_without_a_picture_name_is_found_by_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "screenshot").write_bytes(png_bytes())
    (tmp_path / "notes.txt").write_text("GET student_name")
    assert [image.path for image in find_images(tmp_path).images] == ["screenshot"]


def test_text_named_png_is_refused_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "redis-cli.png").write_text("127.0.0.1:6379> GET student_name\n\"Maria\"\n")
    (tmp_path / "photo.heic").write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 40)
    scan = find_images(tmp_path)
    assert scan.images == ()
    assert "not a PNG or JPEG" in reasons(scan)["redis-cli.png"]
    assert "not a PNG or JPEG" in reasons(scan)["photo.heic"]


def test_oversized_file_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "big.png").write_bytes(png_bytes() + b"\0" * 5000)
    scan = find_images(tmp_path, ImageLimits(max_bytes=4000))
    assert scan.images == ()
    assert "over the" in reasons(scan)["big.png"] and "MiB cap" in reasons(scan)["big.png"]


@pytest.mark.parametrize("side", [100_000, 6_000])
def test_decompression_bomb_is_refused_before_decoding(tmp_path: Path, side: int) -> None:
    """100000x100000 trips Pillow's own guard; 6000x6000 (36 MP) only ours (25 MP)."""
    (tmp_path / "bomb.png").write_bytes(png_header_claiming(side, side))
    scan = find_images(tmp_path)
    assert scan.images == ()
    reason = reasons(scan)["bomb.png"]
    assert "MP cap" in reason and "not decoded" in reason
    if side == 6_000:
        assert "6000×6000" in reason


def test_symlinks_are_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(png_bytes())
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "real.png").write_bytes(png_bytes(10, 10))
    (submission / "linked.png").symlink_to(outside / "secret.png")
    (submission / "linked-folder").symlink_to(outside, target_is_directory=True)
    scan = find_images(submission)
    assert [image.path for image in scan.images] == ["real.png"]
    assert "symbolic link" in reasons(scan)["linked.png"]
    assert not any("secret" in item.path for item in (*scan.images, *scan.rejected))
    with pytest.raises(PictureRefused, match="cannot be read"):
        read_bytes(submission, "linked-folder/secret.png")  # a link on the way is refused too
    with pytest.raises(PictureRefused, match="not a plain path"):
        read_bytes(submission, "../outside/secret.png")


def test_a_file_swapped_for_a_link_after_the_scan_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "outside.png").write_bytes(png_bytes())
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "shot.png").write_bytes(png_bytes(8, 8))
    found = find_images(submission).images[0]
    (submission / "shot.png").unlink()
    (submission / "shot.png").symlink_to(tmp_path / "outside.png")
    with pytest.raises(PictureRefused, match="cannot be read"):
        decode(submission, found)


def test_more_pictures_than_the_cap(tmp_path: Path) -> None:
    for index in range(12):
        (tmp_path / f"shot{index:02}.png").write_bytes(png_bytes(8, 8))
    scan = find_images(tmp_path, ImageLimits(max_count=10))
    assert [image.path for image in scan.images] == [f"shot{index:02}.png" for index in range(10)]
    assert set(reasons(scan)) == {"shot10.png", "shot11.png"}
    assert all("cap of 10 pictures" in reason for reason in reasons(scan).values())


def test_refused_pictures_do_not_use_up_the_cap_but_only_so_many_are_opened(tmp_path: Path) -> None:
    for index in range(25):
        (tmp_path / f"a{index:02}.png").write_bytes(images.PNG_MAGIC + b"garbage")
    (tmp_path / "b.png").write_bytes(png_bytes(8, 8))
    scan = find_images(tmp_path, ImageLimits(max_count=2))
    assert scan.images == ()  # b.png comes after 25 broken ones: only 4 (2 x the cap) are opened
    over = [path for path, reason in reasons(scan).items() if "over the cap" in reason]
    assert len(over) == 22 and "b.png" in over
    scan = find_images(tmp_path, ImageLimits(max_count=20))  # 40 may be opened: all are
    assert [image.path for image in scan.images] == ["b.png"]
    assert len(reasons(scan)) == 25 and all("cannot be decoded" in reason for reason in reasons(scan).values())
    (tmp_path / "a00.png").unlink()
    (tmp_path / "a01.png").write_bytes(png_bytes(8, 8))
    assert [image.path for image in find_images(tmp_path, ImageLimits(max_count=1)).images] == ["a01.png"]


def test_fifo_and_ignored_folders(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")  # opening it for reading would block a careless scanner
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "object.png").write_bytes(png_bytes())
    deep = tmp_path.joinpath(*["d"] * 8)
    deep.mkdir(parents=True)
    (deep / "deep.png").write_bytes(png_bytes())
    scan = find_images(tmp_path, ImageLimits(max_depth=6))
    assert scan.images == ()
    assert reasons(scan) == {"pipe.png": "is not a regular file: not followed or read"}


def test_missing_folder_is_a_reason_not_an_exception(tmp_path: Path) -> None:
    scan = find_images(tmp_path / "nope")
    assert scan.images == () and "cannot open the submission folder" in scan.rejected[0].reason


def test_truncated_picture_is_refused_when_decoded(tmp_path: Path) -> None:
    data = png_bytes(300, 300)
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    scan = find_images(tmp_path)
    assert [image.path for image in scan.images] == ["cut.png"]  # the header is fine
    with pytest.raises(PictureRefused, match="cannot be decoded"):
        decode(tmp_path, scan.images[0])


def test_decoded_upright_and_embedded_without_metadata(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6       # orientation: rotate 90° to show
    exif[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (10, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    (tmp_path / "phone.jpg").write_bytes(out.getvalue())
    (found,) = find_images(tmp_path).images
    picture = decode(tmp_path, found)
    assert picture.size == (20, 40)
    embedded = embed(picture)
    data = base64.b64decode(embedded.data_uri.split(",", 1)[1])
    again = Image.open(io.BytesIO(data))
    assert embedded.mime == "image/png" and again.format == "PNG" and again.size == (20, 40)
    assert "exif" not in again.info and len(again.getexif()) == 0


def test_embedding_respects_side_and_byte_caps() -> None:
    noisy = Image.effect_noise((1600, 1200), 80).convert("RGB")  # does not compress
    embedded = embed(noisy, max_side=600, max_bytes=60_000)
    assert embedded.size_bytes <= 60_000 and max(embedded.width, embedded.height) <= 600
    assert embedded.mime == "image/jpeg"
    data, width, height = fit_png(noisy, max_side=400, max_bytes=90_000)
    assert len(data) <= 90_000 and max(width, height) <= 400 and data.startswith(images.PNG_MAGIC)
    with pytest.raises(PictureRefused, match="cap"):
        embed(noisy, max_bytes=100)


def test_scan_round_trips_through_its_dict(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes())
    (tmp_path / "b.png").write_text("not a picture")
    scan = find_images(tmp_path)
    assert ImageScan.from_dict(json.loads(json.dumps(scan.to_dict()))) == scan


def test_without_pillow_pictures_are_found_by_bytes_and_the_scan_says_so(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.png").write_bytes(png_bytes())
    monkeypatch.setitem(sys.modules, "PIL", None)
    scan = find_images(tmp_path)
    assert [(image.path, image.width) for image in scan.images] == [("a.png", None)]
    assert scan.skipped is not None and scan.skipped.startswith("skipped: pictures (Pillow is not installed")


def test_corrupted_pictures_are_refused_or_decoded_never_raise(tmp_path: Path) -> None:
    """Seeded corruption of the committed screenshots: flipped, cut and inserted bytes."""
    import random

    sources = sorted((Path(__file__).parent / "data" / "screenshots").glob("*.[pj][np]g"))
    rng = random.Random(14)
    outcomes = {"decoded": 0, "refused": 0}
    for round_number in range(60):
        data = bytearray(rng.choice(sources).read_bytes())
        for _ in range(rng.randint(1, 12)):
            at = rng.randrange(len(data))
            if rng.random() < 0.7:
                data[at] = rng.randrange(256)
            else:
                del data[at:at + rng.randint(1, 200)]
        picture = tmp_path / f"round{round_number}.png"
        picture.write_bytes(bytes(data))
        scan = find_images(tmp_path)
        for found in scan.images:
            try:
                embed(decode(tmp_path, found))
                outcomes["decoded"] += 1
            except PictureRefused:
                outcomes["refused"] += 1
        outcomes["refused"] += len(scan.rejected)
        picture.unlink()
    assert outcomes["decoded"] > 0 and outcomes["refused"] > 0
