#!/usr/bin/env python3
"""Makes the OCR test screenshots in this folder, and manifest.json describing them.

Each one is a real redis-cli talking to a real redis-server, typed (xdotool) into a real xterm
under Xvfb and captured with ImageMagick `import`; the cropped and photo-like ones are derived
from such captures with ImageMagick `convert`. Run it again after changing a scene:

    python tests/data/screenshots/make_screenshots.py

Needs (Debian): xvfb xterm xdotool imagemagick redis-server redis-tools fonts-dejavu-core
fonts-liberation (scripts/setup-env.sh installs them). It re-runs itself in a private network
namespace (unshare), so its redis-server listens on 127.0.0.1:6379 as a student's does, without
touching the machine's own port 6379; without unshare it uses a free loopback port instead.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


def free_display() -> str:
    """An X display number nobody uses (no socket, no lock file), so others' Xvfb are left alone."""
    for number in range(97, 200):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            return f":{number}"
    raise SystemExit("make_screenshots: no free X display number in 97-199")


IN_NAMESPACE = "MAKE_SCREENSHOTS_IN_NETNS"
SHELL_PROMPT = "student@laptop:~/redis-lab$ "
CONVERT = "/usr/bin/convert" if Path("/usr/bin/convert").exists() else "convert"


@dataclass(frozen=True)
class Theme:
    background: str
    foreground: str
    font: str
    size: int


DARK = Theme("#1e1e1e", "#d4d4d4", "DejaVu Sans Mono", 12)
LIGHT = Theme("#ffffff", "#202020", "Liberation Mono", 12)
SOLARIZED = Theme("#002b36", "#93a1a1", "DejaVu Sans Mono", 14)


@dataclass(frozen=True)
class Scene:
    """One screenshot: what is typed into redis-cli, what it answers, and what the picture shows."""

    file: str
    shows: str
    theme: Theme
    exchange: list[tuple[str, list[str]]]  # (command typed at the redis-cli prompt, reply lines)
    name_value: str | None  # the student_name value a reader should find, None when there is none
    derive: str = ""  # "", "crop:FIRST_ROW:ROWS:COLUMNS" or "photo"
    columns: int = 64
    quit_to_shell: bool = False
    extra_shell: list[tuple[str, list[str]]] = field(default_factory=list)


SCENES = [
    Scene("dark_clear.png", "dark terminal: PING, SET and GET student_name with a two-word name",
          DARK, [("PING", ["PONG"]), ('SET student_name "Maria Garcia"', ["OK"]),
                 ("GET student_name", ['"Maria Garcia"'])], "Maria Garcia"),
    Scene("light_theme.png", "light terminal, single quotes in SET, GET answers the name",
          LIGHT, [("PING", ["PONG"]), ("SET student_name 'Jan Kowalski'", ["OK"]),
                  ("GET student_name", ['"Jan Kowalski"'])], "Jan Kowalski"),
    Scene("cropped.png", "cropped tightly to the GET line and its reply, the line above cut in half",
          SOLARIZED, [("PING", ["PONG"]), ('SET student_name "Aisha Okafor"', ["OK"]),
                      ("GET student_name", ['"Aisha Okafor"']), ("INCR page_hits", ["(integer) 1"])],
          "Aisha Okafor", derive="crop:5:2:32"),
    Scene("photo_lowcontrast.jpg", "photo of a screen: rotated, perspective, blurred, noisy, low contrast",
          LIGHT, [("PING", ["PONG"]), ('SET student_name "Lukas Becker"', ["OK"]),
                  ("GET student_name", ['"Lukas Becker"'])], "Lukas Becker", derive="photo"),
    Scene("set_ok_only.png", "only SET student_name answered OK, no GET",
          DARK, [('SET student_name "Noor Haddad"', ["OK"])], "Noor Haddad"),
    Scene("other_key.png", "a different key: SET name / GET name, no student_name",
          DARK, [("PING", ["PONG"]), ('SET name "Maria Garcia"', ["OK"]),
                 ("GET name", ['"Maria Garcia"'])], None),
    Scene("no_key.png", "no key at all: PING/PONG, an empty database, back at the shell",
          LIGHT, [("PING", ["PONG"]), ("DBSIZE", ["(integer) 0"])], None, quit_to_shell=True),
    Scene("nil_value.png", "GET student_name answers (nil): the key was never set",
          DARK, [("PING", ["PONG"]), ("GET student_name", ["(nil)"])], None),
    Scene("syntax_error.png", "SET without quotes fails with a syntax error; GET answers (nil)",
          DARK, [('SET student_name Maria Garcia', ["(error) ERR syntax error"]),
                 ("GET student_name", ["(nil)"])], None),
]


def run(*argv: str, timeout: float = 30) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=timeout).stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def background(*argv: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(ready, what: str, seconds: float = 15) -> None:  # noqa: ANN001 - a predicate
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise SystemExit(f"make_screenshots: {what} did not come up in {seconds} s")


def redis_answers(port: int) -> bool:
    try:
        return run("redis-cli", "-p", str(port), "PING", timeout=5).strip() == "PONG"
    except (subprocess.SubprocessError, OSError):
        return False


def type_line(window: str, text: str) -> None:
    run("xdotool", "type", "--delay", "25", "--window", window, text)
    run("xdotool", "key", "--window", window, "Return")
    time.sleep(0.4)


def xterm_argv(scene: Scene, title: str, rows: int) -> list[str]:
    theme = scene.theme
    return ["xterm", "-T", title, "-geometry", f"{scene.columns}x{rows}", "-fa", theme.font,
            "-fs", str(theme.size), "-bg", theme.background, "-fg", theme.foreground,
            "-cr", theme.foreground, "+sb", "-b", "6", "-xrm", "XTerm*allowSendEvents: true",
            "-e", "bash", "--norc", "--noprofile", "-i"]


def screen_rows(scene: Scene) -> int:
    replies = sum(1 + len(reply) for _, reply in scene.exchange)
    return replies + 2 + (1 if scene.quit_to_shell else 0) + 1  # shell line, redis-cli, exit, prompt


def truth_lines(scene: Scene, prompt: str) -> list[str]:
    """What the terminal shows, line by line: the ground truth for OCR accuracy."""
    lines = [SHELL_PROMPT + scene_cli_command(prompt)]
    for command, reply in scene.exchange:
        lines += [f"{prompt}> {command}", *reply]
    if scene.quit_to_shell:
        lines += [f"{prompt}> exit", SHELL_PROMPT.rstrip()]
    else:
        lines.append(f"{prompt}>")
    return lines


def scene_cli_command(prompt: str) -> str:
    port = prompt.rsplit(":", 1)[1]
    return "redis-cli" if port == "6379" else f"redis-cli -p {port}"


def capture(scene: Scene, port: int, prompt: str, out: Path, home: Path) -> None:
    run("redis-cli", "-p", str(port), "FLUSHALL")
    title = f"shot-{out.stem}"
    env = {**os.environ, "PS1": SHELL_PROMPT, "HOME": str(home),
           "HISTFILE": "/dev/null", "REDISCLI_HISTFILE": "/dev/null", "TERM": "xterm"}
    with background(*xterm_argv(scene, title, screen_rows(scene)), env=env):
        window = run("xdotool", "search", "--sync", "--name", title).split()[0]
        time.sleep(0.8)  # bash draws its first prompt
        type_line(window, scene_cli_command(prompt))
        for command, _ in scene.exchange:
            type_line(window, command)
        if scene.quit_to_shell:
            type_line(window, "exit")
        time.sleep(0.5)
        run("import", "-window", window, str(out))


def crop(raw: Path, out: Path, spec: str, scene: Scene) -> None:
    """Crops as a student's selection would: FIRST_ROW:ROWS:COLUMNS of the terminal grid, starting
    a little inside the row above (its glyphs cut in half) and ending past the last column."""
    first_row, rows, columns = (int(part) for part in spec.split(":"))
    width, height = (int(v) for v in run(CONVERT, str(raw), "-format", "%w %h", "info:").split())
    border = 6 + 2  # xterm's -b 6 plus its internal frame
    cell_w = (width - 2 * border) / scene.columns
    cell_h = (height - 2 * border) / screen_rows(scene)
    top = border + cell_h * (first_row - 0.45)
    box = f"{int(cell_w * (columns + 1.5))}x{int(cell_h * (rows + 0.45) + 4)}+0+{int(top)}"
    run(CONVERT, str(raw), "-crop", box, "+repage", str(out))


def photo(raw: Path, out: Path) -> None:
    """A phone photo of a monitor: scaled, keystoned, rotated, soft, noisy, washed out, JPEG."""
    width, height = (int(v) for v in run(CONVERT, str(raw), "-format", "%w %h", "info:").split())
    w, h = int(width * 1.4), int(height * 1.4)
    keystone = f"0,0 {w // 40},{h // 25}  {w},0 {w - w // 60},0  0,{h} 0,{h - h // 30}  {w},{h} {w},{h}"
    run(CONVERT, str(raw), "-resize", "140%", "-virtual-pixel", "edge", "-distort", "Perspective",
        keystone, "-background", "#8a8f96", "-rotate", "2.5", "-blur", "0x1.1",
        "-fill", "#5b6a7d", "-colorize", "18%", "+level", "22%,78%", "-seed", "7", "-attenuate", "0.5",
        "+noise", "Gaussian", "-quality", "55", "-strip", str(out))


def make_all(prompt_port: int) -> None:
    prompt = f"127.0.0.1:{prompt_port}"
    display = free_display()
    os.environ["DISPLAY"] = display  # for xterm, xdotool and import
    manifest = []
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        with background("redis-server", "--port", str(prompt_port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", temp), \
             background("Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"):
            wait_until(lambda: redis_answers(prompt_port), "redis-server")
            wait_until(lambda: Path(f"/tmp/.X11-unix/X{display[1:]}").exists(), "Xvfb")
            for scene in SCENES:
                manifest.append(make_one(scene, prompt_port, prompt, work))
    (HERE / "manifest.json").write_text(json.dumps({"screenshots": manifest}, indent=2) + "\n")


def make_one(scene: Scene, port: int, prompt: str, work: Path) -> dict[str, object]:
    out = HERE / scene.file
    raw = work / f"{out.stem}.raw.png"
    capture(scene, port, prompt, raw if scene.derive else out, work)
    lines = truth_lines(scene, prompt)
    if scene.derive.startswith("crop:"):
        crop(raw, out, scene.derive[5:], scene)
        first_row, rows, _ = (int(part) for part in scene.derive[5:].split(":"))
        lines = lines[first_row:first_row + rows]
    elif scene.derive == "photo":
        photo(raw, out)
    if out.suffix == ".png":
        run(CONVERT, str(out), "-strip", "-define", "png:compression-level=9", str(out))
    print(f"make_screenshots: {scene.file} ({out.stat().st_size // 1024} KiB): {scene.shows}")
    return {"file": scene.file, "shows": scene.shows, "key": "student_name",
            "name_value": scene.name_value, "evidence": scene.name_value is not None, "text": lines}


def main() -> None:
    for tool in ("Xvfb", "xterm", "xdotool", "import", "redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            raise SystemExit(f"make_screenshots: {tool} is missing (run scripts/setup-env.sh)")
    if os.environ.get(IN_NAMESPACE) != "1" and shutil.which("unshare"):
        own = ["unshare", "--net"] if os.geteuid() == 0 else ["unshare", "--user", "--map-root-user", "--net"]
        if subprocess.run([*own, "true"], capture_output=True).returncode == 0:
            inner = f"ip link set lo up && exec {sys.executable} {Path(__file__).resolve()}"
            done = subprocess.run([*own, "sh", "-c", inner], env={**os.environ, IN_NAMESPACE: "1"})
            raise SystemExit(done.returncode)
        print("make_screenshots: no private network namespace; using a free loopback port", file=sys.stderr)
    make_all(6379 if os.environ.get(IN_NAMESPACE) == "1" else free_port())


if __name__ == "__main__":
    main()
