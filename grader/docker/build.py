"""Building a service's image: by the grader itself, under limits, leaving nothing behind.

The grader runs `docker build` with the classic builder rather than letting Compose build,
because the classic builder is the one that enforces memory and CPU limits on build steps
(`--memory`, `--cpu-quota`), and because it tags only what the grader names: `build.tags`,
`build.network`, cache exports and the like never reach the engine. `--force-rm` removes the
step containers even when a step fails; the image layers of a failed build are removed
afterwards. A successful build keeps its layers (below the grader's per-run label) under a
`compose-grader-cache:` tag: that is the build cache later gradings reuse, and
`grader clean --build-cache` removes it.

The classic builder reads `# syntax=` lines as comments (no frontend is fetched), and refuses
BuildKit-only instructions (`RUN --mount`, heredocs), which ``build_hint`` explains.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from grader.docker import commands as docker
from grader.docker import runner
from grader.docker.bootfile import LABEL, BuildSpec, memory_bytes
from grader.docker.compose import minimal_env
from grader.errors import CommandTimeout
from grader.rubric import Limits

CACHE_REPOSITORY = "compose-grader-cache"
MAX_CACHE_IMAGES = 200
_LAYER = re.compile(r"^ ---> ([0-9a-f]{12})\s*$", re.MULTILINE)
_STEP = re.compile(r"^Step \d+/\d+ : (.+)$", re.MULTILINE)
_RETURNED = re.compile(r"returned a non-zero code: (\d+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class BuildFailure:
    output: str          # the last lines of the build output
    summary: str | None  # what went wrong, in one line
    hint: str | None     # how to fix it, when the grader knows better than "read the output"


def build_argv(spec: BuildSpec, tag: str, labels: dict[str, str], limits: Limits, dockerfile: str | None) -> list[str]:
    memory = memory_bytes(limits.build_memory) or 1024 ** 3
    argv = ["docker", "build", "--force-rm", "--rm", "-t", tag, "--memory", str(memory), "--memory-swap", str(memory),
            "--cpu-period", "100000", "--cpu-quota", str(max(1000, int(limits.build_cpus * 100_000)))]
    for key, value in labels.items():
        argv += ["--label", f"{key}={value}"]
    for key, value in spec.args.items():
        argv += ["--build-arg", f"{key}={value}"]
    if spec.target:
        argv += ["--target", spec.target]
    if dockerfile:
        argv += ["-f", dockerfile]
    return [*argv, spec.context]


def build_image(spec: BuildSpec, tag: str, labels: dict[str, str], limits: Limits, scratch: Path) -> BuildFailure | None:
    """Build ``tag``; None on success, else what went wrong (with nothing of the build left over)."""
    dockerfile = spec.dockerfile
    if spec.dockerfile_inline:
        inline = scratch / f"{tag.replace(':', '-').replace('/', '-')}.Dockerfile"
        inline.write_text(spec.dockerfile_inline, encoding="utf-8")
        dockerfile = str(inline)
    elif dockerfile and not Path(dockerfile).is_absolute():
        dockerfile = str(Path(spec.context) / dockerfile)
    env = minimal_env({"DOCKER_BUILDKIT": "0"})
    try:
        result = runner.run(build_argv(spec, tag, labels, limits, dockerfile), timeout=limits.build_timeout_s,
                            env=env, check=False)
    except CommandTimeout as exc:
        _remove_layers(exc.stdout)
        return BuildFailure(_tail(exc.stdout + exc.stderr), f"the build did not finish within {limits.build_timeout_s:g} s",
                            None)
    if result.returncode != 0:
        if runner.daemon_is_down(result.stderr):
            raise runner._failure(result)
        _remove_layers(result.stdout)
        output = _clean(result.stdout + "\n" + result.stderr)
        return BuildFailure(_tail(output), summarize(output), build_hint(output))
    keep_as_cache(tag)
    return None


def _clean(text: str) -> str:
    lines = [_ANSI.sub("", line) for line in text.splitlines()]
    return "\n".join(line for line in lines if not line.startswith(("DEPRECATED:", "            BuildKit is",
                                                                     "            environment-variable", "            Install the buildx")))


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(_clean(text).strip().splitlines()[-lines:])


def new_layers(output: str) -> list[str]:
    """The layers this build made: those of every step but `FROM` (an image others use) and the
    steps taken from the cache (" ---> Using cache"), which belong to others. COPY and ADD make
    layers without running a container, so "Running in" does not tell a step's own layers."""
    layers = []
    for step in re.split(r"^Step \d+/\d+ : ", _clean(output), flags=re.MULTILINE)[1:]:
        if step.lstrip().upper().startswith("FROM ") or "Using cache" in step:
            continue
        layers += _LAYER.findall(step)
    return list(dict.fromkeys(layers))


def _remove_layers(output: str) -> None:
    """Remove the layers a failed build made (newest first); those other images use stay."""
    layers = new_layers(output)
    if layers:
        docker.remove_unused_images(reversed(layers))


def keep_as_cache(tag: str) -> None:
    """Tag the layers under the grader's labels as build cache, so removing the run's image keeps them.

    The classic builder writes one layer per `--label`; the cache is the first layer below them."""
    parent = docker.image_parent(tag)
    for _ in range(8):
        if not parent or LABEL not in docker.image_labels(parent):
            break
        parent = docker.image_parent(parent)
    if parent:
        docker.tag_image(parent, f"{CACHE_REPOSITORY}:{parent.removeprefix('sha256:')[:12]}")
        kept = docker.images_of(CACHE_REPOSITORY)
        if len(kept) > MAX_CACHE_IMAGES:  # the oldest go; their layers go with them unless still shared
            docker.remove("image", [reference for reference, _ in kept[: len(kept) - MAX_CACHE_IMAGES]])


def summarize(output: str) -> str | None:
    """What went wrong in a failed build, in one line (the full output goes into the report)."""
    text = _clean(output)
    if "unable to prepare context" in text:
        found = re.search(r'unable to prepare context: (?:path|unable to evaluate symlinks in context path:)\s*"?([^"\n]+)', text)
        return f"the build context folder {found.group(1) if found else ''} does not exist".replace("  ", " ")
    if re.search(r"Cannot locate specified Dockerfile|Dockerfile: no such file|failed to read dockerfile", text, re.I):
        return "the Dockerfile was not found in the build context"
    copy = re.search(r"(?:COPY|ADD) failed: (.+)", text)
    if copy:
        return f"a COPY step failed: {copy.group(1).strip()[:160]}"
    steps = _STEP.findall(text)
    code = _RETURNED.findall(text)
    if steps and code:
        step = steps[-1] if len(steps[-1]) <= 120 else steps[-1][:119] + "…"
        return f"the step `{step}` failed with exit code {code[-1]}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "failed" in line.lower() or "unknown" in line.lower()]
    last = (errors or lines or [""])[-1]
    return (last if len(last) <= 200 else last[:199] + "…") or None


def build_hint(output: str) -> str | None:
    """How to fix a failure the build output itself explains badly."""
    text = _clean(output)
    if re.search(r"--mount|requires BuildKit|Unknown flag: (mount|link|chmod)|<<\s*\w+", text):
        return ("This Dockerfile uses BuildKit-only syntax (such as `RUN --mount` or heredocs). The grader builds with "
                "Docker's classic builder: write those steps without it (plain `RUN pip install -r requirements.txt`).")
    if "pull access denied" in text or "repository does not exist" in text or "manifest unknown" in text:
        return "The `FROM` image does not exist (check its name and tag, e.g. `FROM python:3.11-slim`)."
    if re.search(r"no such host|dial tcp|i/o timeout|TLS handshake timeout", text):
        return ("The build could not reach the network to fetch an image or a package. Check the `FROM` image name, "
                "and that every package in requirements.txt exists.")
    return None
