"""Run the differential test outside pytest and print its disagreements, grouped.

    PYTHONPATH=$PWD python -m tests.differential.findings [--json FILE] [--update-known]

Groups are by (check, what the rubric says, what the grader says); within a group each case
is listed with its variation id, so the causes can be told apart by reading the ids.
``--update-known`` rewrites known.json, the disagreements test_differential.py expects
today (each reported there as xfailed): let it only ever shrink.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tests.differential.generator import generate_cases, write_cases
from tests.differential.harness import disagreements, explain, run_all

KNOWN = Path(__file__).with_name("known.json")


def load_known() -> dict[str, list[str]]:
    return json.loads(KNOWN.read_text()) if KNOWN.exists() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--json", type=Path, help="write every disagreeing case's explanation here")
    parser.add_argument("--update-known", action="store_true", help=f"rewrite {KNOWN.name} from this run")
    args = parser.parse_args(argv)
    cases = generate_cases()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="differential-") as root:
        write_cases(cases, Path(root))
        outcomes = run_all(cases)
        problems = {case_id: disagreements(outcome) for case_id, outcome in outcomes.items()}
        explained = {case_id: explain(outcomes[case_id], found) for case_id, found in problems.items() if found}
    groups: dict[str, list[str]] = defaultdict(list)
    for case_id, found in problems.items():
        for problem in found:
            groups[_group(problem)].append(case_id)
    print(f"{len(cases)} cases, {len(explained)} disagree, {time.monotonic() - started:.0f} s")
    for group, ids in sorted(groups.items(), key=lambda item: -len(item[1])):
        print(f"\n{group}  ({len(ids)})")
        print("".join(f"    {case_id}\n" for case_id in ids), end="")
    if args.json:
        args.json.write_text(json.dumps(explained, indent=1))
    if args.update_known:
        KNOWN.write_text(json.dumps({k: v for k, v in problems.items() if v}, indent=1, sort_keys=True) + "\n")
    return 0


def _group(problem: str) -> str:
    check, detail = problem.split(":", 1)
    if "Compose names" in detail:
        return check + ": located elsewhere than Compose says"
    if "say" in detail:
        return check + ": " + detail.replace(" Compose/rubric say ", "").replace(", the grader says ", " -> ")
    return check + (": location outside the student's files" if "location" in detail else ": temporary path shown")


if __name__ == "__main__":
    sys.exit(main())
