"""Benchmark: what recording evidence (issue 14) costs `grader check`, as a ratio.

Each round runs `grader check` of the sample twice, with evidence (the default: redis-cli session,
page screenshots with headless Chromium, ps and logs, all in the HTML report and the JSON) and with
`--no-evidence`, one after the other (alternating which goes first, so drift on a shared machine
falls on both), after one warm-up of each. It prints the median of each, the median of the
per-round ratios and the ratio of the medians; the goal is at most 1.10 on the perfect sample.
Each run also checks that it recorded (or did not record) evidence, and that the verdicts agree.

    python bench/bench_evidence_overhead.py [--sample perfect] [--rounds 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_submissions"


def check_once(sample: Path, evidence: bool) -> tuple[float, dict]:
    """One `grader check` (HTML report and JSON written, as a student runs it), timed."""
    with tempfile.TemporaryDirectory(prefix="bench-evidence-") as out:
        json_path = Path(out) / "result.json"
        argv = [sys.executable, "-m", "grader.cli", "check", str(sample), "--out", out, "--json", str(json_path)]
        started = time.monotonic()
        subprocess.run(argv + ([] if evidence else ["--no-evidence"]), capture_output=True, text=True,
                       timeout=900, cwd=REPO)
        elapsed = time.monotonic() - started
        result = json.loads(json_path.read_text())
    recorded = bool(result["evidence"]["redis_cli"] or result["evidence"]["pages"])
    if recorded != evidence:
        raise SystemExit(f"evidence {'missing' if evidence else 'recorded with --no-evidence'}: {result['evidence']}")
    return elapsed, result


def statuses(result: dict) -> dict[str, str]:
    return {check["id"]: check["status"] for check in result["checks"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", default="perfect")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sample = SAMPLES / args.sample
    _, with_result = check_once(sample, True)  # warm-up: build cache, Chromium's files in the page cache
    _, without_result = check_once(sample, False)
    if statuses(with_result) != statuses(without_result):
        raise SystemExit(f"verdicts differ: {statuses(with_result)} vs {statuses(without_result)}")
    pages = with_result["evidence"]["pages"]
    shots = sum(1 for page in pages if page["image"])
    on, off, ratios = [], [], []
    for index in range(args.rounds):
        order = (True, False) if index % 2 == 0 else (False, True)
        times = {evidence: check_once(sample, evidence)[0] for evidence in order}
        on.append(times[True])
        off.append(times[False])
        ratios.append(times[True] / times[False])
        print(f"round {index + 1}: with {times[True]:.2f} s, without {times[False]:.2f} s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    print(f"{args.sample}: with evidence {statistics.median(on):.2f} s, --no-evidence {statistics.median(off):.2f} s "
          f"(medians of {args.rounds}); median ratio {statistics.median(ratios):.3f}, "
          f"ratio of medians {statistics.median(on) / statistics.median(off):.3f}; "
          f"{len(pages)} pages, {shots} screenshots")


if __name__ == "__main__":
    main()
