"""Benchmark: `grader batch --queue` with 1, 2 and 4 Celery worker processes on this machine.

A redis-server on loopback is broker and backend; each round starts N workers
(`grader worker -c 1`), grades the same copies of sample submissions through the queue
(a fresh Redis database each round, so nothing is reused), and stops them.
Prints wall time, throughput (submissions per minute) and throughput per worker.

    python bench/bench_queue.py [--workers 1 2 4] [--samples perfect redis_only no_web ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = ["perfect", "redis_only", "no_web", "wrong_port", "bind_mount", "pinned_alpine", "wrong_image",
                   "counter_in_memory"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def one_round(workers: int, folder: Path, port: int, database: int) -> float:
    url = f"redis://127.0.0.1:{port}/{database}"
    processes = [subprocess.Popen([sys.executable, "-m", "grader.cli", "worker", "--broker", url, "-c", "1",
                                   "--loglevel", "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True) for _ in range(workers)]
    try:
        time.sleep(3)  # workers connect
        with tempfile.TemporaryDirectory() as out:
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "grader.cli", "batch", str(folder), "--out", out, "--queue", url],
                           check=True, capture_output=True, timeout=3600)
            return time.monotonic() - started
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--samples", nargs="+", default=DEFAULT_SAMPLES)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                   "--dir", tmp], stdout=subprocess.DEVNULL)
        folder = Path(tmp) / "class"
        for name in args.samples:
            shutil.copytree(REPO / "sample_submissions" / name, folder / name)
        try:
            time.sleep(0.5)
            one_round(1, folder, port, 15)  # warm the build cache
            print(f"{len(args.samples)} submissions, {os.cpu_count()} CPUs")
            base = None
            for database, count in enumerate(args.workers, start=1):
                elapsed = one_round(count, folder, port, database)
                per_minute = len(args.samples) / elapsed * 60
                base = base or per_minute / count
                print(f"{count} worker(s): {elapsed:6.1f} s, {per_minute:5.1f} submissions/min, "
                      f"{per_minute / count:5.1f} per worker, speed-up {per_minute / base:4.2f}x over one worker")
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
