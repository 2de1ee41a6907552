"""Loading what comes next while Compose reads the files (grader/grading/preload.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.grading.preload import NEXT_PHASE, modules_for, preloader

REPO = Path(__file__).resolve().parent.parent
PERFECT = REPO / "sample_submissions" / "perfect"


def test_modules_for_puts_the_next_phase_first_and_names_each_once() -> None:
    assert modules_for("static") == ()
    assert modules_for("static", ("grader.report.html", "grader.report.html")) == ("grader.report.html",)
    assert modules_for("full", ("grader.report.html", *NEXT_PHASE["full"])) == (*NEXT_PHASE["full"],
                                                                               "grader.report.html")


def test_preloader_imports_what_it_can_and_leaves_the_missing_to_their_own_import(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "preload_probe_module.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "preload_probe_module", raising=False)
    preloader(["no_such_module_anywhere", "preload_probe_module"])()
    assert sys.modules["preload_probe_module"].LOADED is True
    assert "no_such_module_anywhere" not in sys.modules


# A module that, when imported, writes down the commands this process is running at that moment.
WITNESS = """
import os, json
pid = os.getpid()
children = open(f"/proc/{pid}/task/{pid}/children").read().split()
def argv(child):
    try:
        return open(f"/proc/{child}/cmdline", "rb").read().decode().split("\\0")
    except OSError:
        return []
RUNNING = [argv(child) for child in children]
"""


@pytest.mark.docker
@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs /proc/PID/task/TID/children")
def test_a_static_grading_imports_the_callers_modules_while_compose_reads(tmp_path: Path) -> None:
    """The caller's modules are imported while `docker compose config` runs (not before, not after),
    and the grading is the same as without them."""
    (tmp_path / "compose_reading_witness.py").write_text(WITNESS)
    code = ("import json, sys\nfrom grader.grading.engine import grade\n"
            "with_witness = grade(sys.argv[1], mode='static', preload=['compose_reading_witness']).to_dict()\n"
            "plain = grade(sys.argv[1], mode='static').to_dict()\n"
            "same = [c['status'] for c in with_witness['checks']] == [c['status'] for c in plain['checks']]\n"
            "print(json.dumps({'running': sys.modules['compose_reading_witness'].RUNNING, 'same': same}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(PERFECT)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO}"}, check=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["same"] is True
    assert any("config" in argv and "--format" in argv for argv in seen["running"]), seen["running"]
