"""The grader's own builds: which layers a failed build made (and may remove), the hints, the summary."""
from __future__ import annotations

from grader.docker.build import build_hint, new_layers, summarize

# The shape of the classic builder's output (Docker 20.10): a step that runs a container prints
# "Running in"; COPY, ADD and cached steps do not, and a cached step prints "Using cache".
FAILED_BUILD = """\
Sending build context to Docker daemon  4.096kB
Step 1/7 : FROM python:3.11-slim
 ---> 10a5390d5f76
Step 2/7 : WORKDIR /app
 ---> Using cache
 ---> 23691b090279
Step 3/7 : COPY app.py .
 ---> 5ecab46c3d08
Step 4/7 : ENV A=1
 ---> Running in 0a1b2c3d4e5f
Removing intermediate container 0a1b2c3d4e5f
 ---> 6f0e1d2c3b4a
Step 5/7 : FROM redis:alpine AS second
 ---> 2bb32190b8da
Step 6/7 : ADD extra.txt /
 ---> 7a8b9c0d1e2f
Step 7/7 : RUN pip install -r requirements.txt
 ---> Running in 9f8e7d6c5b4a
Removing intermediate container 9f8e7d6c5b4a
The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1
"""


def test_a_failed_build_owns_only_the_layers_it_made() -> None:
    # never the FROM images (10a5…, 2bb3…), never a layer from the cache (2369…): other images use them;
    # but every layer its own steps made, COPY and ADD included, though they run no container
    assert new_layers(FAILED_BUILD) == ["5ecab46c3d08", "6f0e1d2c3b4a", "7a8b9c0d1e2f"]


def test_the_summary_names_the_failed_step_and_its_exit_code() -> None:
    assert summarize(FAILED_BUILD) == "the step `RUN pip install -r requirements.txt` failed with exit code 1"


def test_buildkit_only_syntax_gets_a_hint_a_student_can_act_on() -> None:
    output = "Step 2/2 : RUN --mount=type=cache,target=/root/.cache pip install x\nthe --mount option requires BuildKit."
    assert "BuildKit-only syntax" in (build_hint(output) or "")
    assert build_hint(FAILED_BUILD) is None
