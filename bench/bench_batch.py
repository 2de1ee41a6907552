"""Benchmark: `grader batch` against the shell loop an instructor would otherwise write, and its memory.

1. Speed, in one run, on the same 12 sample submissions (each in its own temp copy):
   - the baseline loop: for each folder in turn, `docker compose up -d --build`, `sleep`,
     `redis-cli GET student_name`, two `curl` calls, `docker compose down -v`;
   - `grader batch -j 4`, which runs every check of the rubric.
   Both after one untimed warm-up build of every sample, so the build cache is warm for both.
   Prints both wall times and the ratio (goal: the batch takes at most 1/3 of the loop).

2. Memory for a class of generated static-only submissions (no containers): the batch
   process's peak RSS (getrusage), its peak Python heap (tracemalloc), and the largest
   worker's peak RSS, for 50, 100 and 200 submissions, each measured in a fresh process.

    python bench/bench_batch.py                 # both parts
    python bench/bench_batch.py --skip-speed    # memory only (no Docker engine needed)
    python bench/bench_batch.py --skip-memory --jobs 4 --sleep 5
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_submissions"
TWELVE = ("perfect", "redis_only", "wrong_image", "wrong_port", "bind_mount", "wrong_volume_path",
          "no_student_name", "counter_in_memory", "localhost_host", "broken_yaml", "no_web", "nested_folder")

LOOP = r"""
for d in "$ROOT"/*/; do
  cd "$d"
  docker compose up -d --build
  sleep "$SLEEP"
  docker compose exec -T redis redis-cli GET student_name
  curl -s -m 5 http://localhost:5000/
  curl -s -m 5 http://localhost:5000/
  docker compose down -v
  cd "$ROOT"
done
"""


def grader_command() -> list[str]:
    sys.path.insert(0, str(REPO))
    from grader.cli import main as cli

    if "batch" in getattr(cli.main, "commands", {}):
        return [sys.executable, "-m", "grader.cli"]
    return [sys.executable, "-m", "grader.cli.batch"]


def copy_samples(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in TWELVE:
        shutil.copytree(SAMPLES / name, target / name, symlinks=True)
    return target


def remove_project_images(project: str) -> None:
    ids = subprocess.run(["docker", "images", "-q", "--filter", f"label=com.docker.compose.project={project}"],
                         capture_output=True, text=True, timeout=60).stdout.split()
    if ids:
        subprocess.run(["docker", "image", "rm", "-f", *sorted(set(ids))], capture_output=True, timeout=120)


def warm_up(root: Path) -> None:
    """Build every sample once (untimed) and remove what that built; the build cache stays warm."""
    for folder in sorted(root.iterdir()):
        name = f"benchwarm-{folder.name.replace('_', '-')}"
        subprocess.run(["docker", "compose", "-p", name, "build"], cwd=folder, capture_output=True, timeout=900)
        remove_project_images(name)


def clean_loop(root: Path) -> None:
    """Remove what the baseline loop left behind (it only ran `down -v`): the images it built."""
    for folder in sorted(root.iterdir()):
        subprocess.run(["docker", "compose", "down", "-v", "--rmi", "local"], cwd=folder, capture_output=True,
                       timeout=300)
        remove_project_images(folder.name.lower())
    remove_project_images("lab3")  # no_web names its project


def speed(jobs: int, sleep: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as temp:
        temp_path = Path(temp)
        loop_root = copy_samples(temp_path / "loop")
        batch_root = copy_samples(temp_path / "batch")
        print(f"warming the build cache on {len(TWELVE)} samples (untimed)…", flush=True)
        warm_up(copy_samples(temp_path / "warm"))

        print("baseline shell loop…", flush=True)
        started = time.monotonic()
        loop = subprocess.run(["bash", "-c", LOOP], env={**os.environ, "ROOT": str(loop_root), "SLEEP": str(sleep)},
                              capture_output=True, text=True, timeout=3600)
        loop_s = time.monotonic() - started
        names = loop.stdout.count("\n")
        clean_loop(loop_root)

        print(f"grader batch -j {jobs}…", flush=True)
        out = temp_path / "out"
        started = time.monotonic()
        batch = subprocess.run([*grader_command(), "batch", str(batch_root), "-j", str(jobs), "--out", str(out)],
                               capture_output=True, text=True, timeout=3600)
        batch_s = time.monotonic() - started
        entries = json.loads((out / "results.json").read_text())
        ran = sum(1 for entry in entries for check in entry["checks"] if check["status"] in ("passed", "failed"))
        total = sum(len(entry["checks"]) for entry in entries)
        errors = sum(1 for entry in entries for check in entry["checks"] if check["status"] == "error")

    print()
    print(f"samples: {len(TWELVE)} ({', '.join(TWELVE)})")
    print(f"baseline loop (up --build, sleep {sleep:g}, redis-cli GET, 2 x curl, down -v): {loop_s:7.1f} s"
          f"  (exit {loop.returncode}, {names} output lines)")
    print(f"grader batch -j {jobs} (every check):                              {batch_s:7.1f} s"
          f"  (exit {batch.returncode}; {len(entries)} graded, {ran}/{total} checks passed or failed,"
          f" the rest skipped by design; {errors} errors)")
    print(f"ratio batch / loop: {batch_s / loop_s:.2f}  (goal: at most 0.33)")


# Memory ---------------------------------------------------------------------------------------------

VARIANTS = ("perfect", "wrong_port", "wrong_image", "bind_mount", "no_web", "broken_yaml", "redis_only",
            "pinned_alpine", "no_volume", "env_file_interpolation")


def generate(root: Path, count: int) -> None:
    for index in range(count):
        sample = VARIANTS[index % len(VARIANTS)]
        shutil.copytree(SAMPLES / sample, root / f"student-{index:04d}-{sample}", symlinks=True)


def memory_run(count: int, jobs: int) -> dict[str, float]:
    """In this (fresh) process: a static batch of ``count`` generated submissions; peak memory figures."""
    import tracemalloc

    sys.path.insert(0, str(REPO))
    from grader.batch import grade_batch

    with tempfile.TemporaryDirectory(prefix="bench-mem-") as temp:
        folder = Path(temp) / "class"
        folder.mkdir()
        generate(folder, count)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        started = time.monotonic()
        result = grade_batch(folder, Path(temp) / "out", jobs=jobs, mode="static")
        seconds = time.monotonic() - started
        _, heap_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results_size = (Path(temp) / "out" / "results.json").stat().st_size
    return {
        "submissions": len(result.submissions), "jobs": jobs, "seconds": round(seconds, 1),
        "parent_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parent_rss_before_mib": baseline / 1024,
        "parent_heap_peak_mib": heap_peak / 2**20,
        "worker_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
        "results_json_kib": results_size / 1024,
    }


def memory(jobs: int, sizes: list[int]) -> None:
    print(f"\nmemory, static-only batch, -j {jobs} (each size in a fresh process):")
    print(f"{'submissions':>11} {'time s':>7} {'batch RSS MiB':>14} {'heap peak MiB':>14} {'largest worker MiB':>19}"
          f" {'total bound MiB':>16} {'results.json KiB':>17}")
    for size in sizes:
        output = subprocess.run([sys.executable, __file__, "--memory-run", str(size), "--jobs", str(jobs)],
                                capture_output=True, text=True, timeout=3600, cwd=REPO)
        if output.returncode != 0:
            print(output.stderr[-2000:])
            raise SystemExit(1)
        figures = json.loads(output.stdout.strip().splitlines()[-1])
        bound = figures["parent_peak_rss_mib"] + jobs * figures["worker_peak_rss_mib"]
        print(f"{figures['submissions']:>11} {figures['seconds']:>7} {figures['parent_peak_rss_mib']:>14.1f}"
              f" {figures['parent_heap_peak_mib']:>14.1f} {figures['worker_peak_rss_mib']:>19.1f} {bound:>16.1f}"
              f" {figures['results_json_kib']:>17.0f}")
    print("(total bound = batch process + jobs x largest worker; goal: under 300 MB for 200 submissions)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--sleep", type=float, default=5.0, help="The baseline loop's sleep after `up` (s).")
    parser.add_argument("--sizes", default="50,100,200", help="Class sizes for the memory figure.")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_run:
        print(json.dumps(memory_run(args.memory_run, args.jobs)))
        return
    if not args.skip_speed:
        speed(args.jobs, args.sleep)
    if not args.skip_memory:
        memory(args.jobs, [int(size) for size in args.sizes.split(",")])


if __name__ == "__main__":
    main()
