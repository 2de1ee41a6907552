#!/usr/bin/env python3
"""Write the dump.rdb files of the sample submissions.

For each submission listed in DUMPS, start a throwaway ``redis-server`` on a free
loopback port with a temporary data directory, SET the keys the student would have
set with ``redis-cli``, SAVE, and copy the resulting dump.rdb into the submission.
The server is always shut down and the temporary directory always removed.

Usage:  python scripts/make_sample_dumps.py [--redis-server PATH] [SUBMISSION ...]
"""
from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_submissions"

# submission path (relative to sample_submissions/) -> keys in its dump.rdb.
# Besides student_name, some students left other keys from the workshop steps.
DUMPS: dict[str, dict[str, str]] = {
    "perfect": {"student_name": "Maria Garcia", "greeting": "Hello from Redis", "hits": "7"},
    "redis_only": {"student_name": "Jonas Becker"},
    "wrong_image": {"student_name": "Aisha Khan"},
    "wrong_port": {"student_name": "Tomás Oliveira"},
    "bind_mount": {"student_name": "Emily Chen"},
    "wrong_volume_path": {"student_name": "Lukas Novak"},
    "counter_in_memory": {"student_name": "Fatima Al-Sayed"},
    "localhost_host": {"student_name": "Daniel Kowalski", "greeting": "Hello from Redis"},
    "no_web": {"student_name": "Sofia Rossi"},
    "nested_folder/lab3-redis": {"student_name": "Priya Natarajan", "page_hits": "3"},
    "env_file_interpolation": {"student_name": "Kwame Mensah"},
    "pinned_alpine": {"student_name": "Hannah Schmidt"},
    "cache_service_name": {"student_name": "Diego Hernández"},
    "web_subfolder": {"student_name": "Yuki Tanaka", "framework": "Flask"},
    "env_var_host": {"student_name": "Olivia Brown"},
    "no_volume": {"student_name": "Ahmed Hassan"},
    # set the wrong key: "name" instead of "student_name"
    "wrong_key_name": {"name": "Chloe Martin", "greeting": "Hello from Redis"},
    # no_student_name and broken_yaml have no dump.rdb on purpose
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_dump(server_bin: str, keys: dict[str, str], dest: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="sample-dump-"))
    proc: subprocess.Popen | None = None
    try:
        port = free_port()
        proc = subprocess.Popen(
            [server_bin, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
             "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--logfile", str(tmp / "redis.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                log = (tmp / "redis.log").read_text(errors="replace") if (tmp / "redis.log").exists() else ""
                raise RuntimeError(f"redis-server exited early ({proc.returncode}): {log[-500:]}")
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not answer PING within 10 s")
                time.sleep(0.05)
        for key, value in keys.items():
            client.set(key, value)
        client.save()
        client.close()
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(tmp / "dump.rdb", dest)
    finally:
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            if proc.stderr:
                proc.stderr.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "/usr/bin/redis-server")
    parser.add_argument("submissions", nargs="*", help="only these (default: all in DUMPS)")
    args = parser.parse_args(argv)

    unknown = [name for name in args.submissions if name not in DUMPS]
    if unknown:
        parser.error(f"no dump defined for: {', '.join(unknown)}")
    for name in args.submissions or DUMPS:
        dest = SAMPLES / name / "dump.rdb"
        make_dump(args.redis_server, DUMPS[name], dest)
        print(f"wrote {dest.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
