"""The few plain `docker` commands the grader needs besides Compose."""
from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from grader.docker import runner
from grader.docker.compose import minimal_env
from grader.errors import CommandError, CommandFailed, DockerUnavailable

_TIMEOUT = 60


def _docker(*args: str, timeout: float = _TIMEOUT, check: bool = True) -> runner.Completed:
    return runner.run(["docker", *args], timeout=timeout, env=minimal_env(), check=check)


def engine_version(timeout: float = 15) -> str:
    """The engine's version; raise DockerUnavailable when there is none to talk to."""
    try:
        result = _docker("version", "--format", "{{.Server.Version}}", timeout=timeout)
    except DockerUnavailable:
        raise
    except CommandError as exc:
        raise DockerUnavailable(
            f"the Docker engine cannot be reached: {exc}", exc.argv, exc.returncode, exc.stdout, exc.stderr
        ) from exc
    return result.stdout.strip()


@functools.lru_cache(maxsize=1)
def reaches_by_published_ports() -> bool:
    """Whether the grader must reach services through published loopback ports: where the engine
    runs in a VM (Docker Desktop), container addresses cannot be reached from this machine."""
    result = _docker("info", "--format", "{{.OperatingSystem}}", check=False, timeout=20)
    return "docker desktop" in result.stdout.lower()


class EngineProbe:
    """The engine's version and kind, asked in the background while the grader reads the files
    (two round trips of the Docker CLI that nothing before the boot needs); ``version()`` waits."""

    def __init__(self) -> None:
        self._version: str | None = None
        self._error: DockerUnavailable | None = None
        self._thread = threading.Thread(target=self._ask, daemon=True, name="engine-probe")
        self._thread.start()

    def _ask(self) -> None:
        try:
            self._version = engine_version()
            reaches_by_published_ports()  # cached for the boot
        except DockerUnavailable as exc:
            self._error = exc

    def version(self) -> str:
        """The engine's version; raise DockerUnavailable as ``engine_version`` does."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._version or ""


def inspect(ids: Iterable[str], kind: str = "container") -> list[dict[str, Any]]:
    ids = list(ids)
    if not ids:
        return []
    result = _docker(kind, "inspect", *ids, check=False)
    if result.returncode != 0 and runner.daemon_is_down(result.stderr):
        raise runner._failure(result)
    try:
        return json.loads(result.stdout or "[]")
    except json.JSONDecodeError:
        return []


def ids_with_label(kind: str, label: str) -> list[str]:
    """IDs (names for volumes) of every container, volume, network or image carrying ``label``."""
    listing = {
        "container": ("ps", "-aq"),
        "volume": ("volume", "ls", "-q"),
        "network": ("network", "ls", "-q"),
        "image": ("image", "ls", "-q"),
    }[kind]
    result = _docker(*listing, "--filter", f"label={label}")
    return sorted(set(result.stdout.split()))


def remove(kind: str, ids: Iterable[str]) -> list[str]:
    """Remove what exists of ``ids``; return the error lines of what could not be removed."""
    ids = list(ids)
    if not ids:
        return []
    command = {
        "container": ("rm", "-f", "-v"),
        "volume": ("volume", "rm", "-f"),
        "network": ("network", "rm"),
        "image": ("image", "rm", "-f"),
    }[kind]
    try:
        result = _docker(*command, *ids, check=False)
    except CommandError as exc:
        return [str(exc)]
    return [line for line in result.stderr.splitlines() if "No such" not in line and line.strip()]


def remove_with_label(kinds: list[str], label: str, *, volumes: Iterable[str] = (),
                      images: Iterable[str] = ()) -> list[str]:
    """Remove everything of ``kinds`` carrying ``label`` (and the ``volumes`` and ``images`` named),
    containers first; the listings run at once, since each is a round trip to the engine."""
    with ThreadPoolExecutor(len(kinds)) as pool:
        found = dict(zip(kinds, pool.map(lambda kind: ids_with_label(kind, label), kinds)))
    extra = {"volume": list(volumes), "image": list(images)}
    problems: list[str] = []
    for kind in ("container", "volume", "network", "image"):
        if kind in found or extra.get(kind):
            problems += remove(kind, dict.fromkeys(extra.get(kind, []) + found.get(kind, [])))
    return problems


def labelled(kind: str, label: str) -> dict[str, dict[str, str]]:
    """Every container, volume, network or image carrying ``label``, with all its labels."""
    listing = {
        "container": ("ps", "-a"), "volume": ("volume", "ls"), "network": ("network", "ls"), "image": ("image", "ls"),
    }[kind]
    if kind == "image":  # `docker image ls` cannot print labels: ask inspect
        ids = ids_with_label("image", label)
        return {info["Id"]: (info.get("Config") or {}).get("Labels") or {} for info in inspect(ids, "image")}
    result = _docker(*listing, "--filter", f"label={label}", "--format", "{{json .}}")
    found = {}
    for line in result.stdout.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        key = entry.get("ID") or entry.get("Name")
        labels = dict(item.partition("=")[::2] for item in (entry.get("Labels") or "").split(",") if item)
        if key:
            found[key] = labels
    return found


def remove_labelled(label: str, keep: Callable[[dict[str, str]], bool] = lambda labels: False) -> dict[str, list[str]]:
    """Remove every resource carrying ``label`` unless ``keep(labels)``; containers first."""
    removed: dict[str, list[str]] = {}
    for kind in ("container", "network", "volume", "image"):
        try:
            ids = [key for key, labels in labelled(kind, label).items() if not keep(labels)]
        except CommandFailed:
            ids = []
        remove(kind, ids)
        removed[kind] = ids
    return removed


def remove_unused_images(ids: Iterable[str]) -> None:
    """Remove each image unless something still uses it (a tag, a child image, a container)."""
    for image in ids:
        _docker("image", "rm", "--no-prune", image, check=False)


def image_parent(tag: str) -> str | None:
    """The image a (classic-builder) image was built on top of; None when unknown."""
    result = _docker("image", "inspect", "--format", "{{.Parent}}", tag, check=False)
    parent = result.stdout.strip()
    return parent if result.returncode == 0 and parent.startswith("sha256:") else None


def image_labels(image: str) -> dict[str, str]:
    found = inspect([image], "image")
    return ((found[0].get("Config") or {}).get("Labels") or {}) if found else {}


def tag_image(image: str, tag: str) -> None:
    _docker("tag", image, tag, check=False)


def images_of(repository: str) -> list[tuple[str, str]]:
    """(reference, created at) of every image of ``repository``, oldest first."""
    result = _docker("image", "ls", repository, "--format", "{{.Repository}}:{{.Tag}}\t{{.CreatedAt}}", check=False)
    rows = [tuple(line.split("\t", 1)) for line in result.stdout.splitlines() if "\t" in line]
    return sorted(rows, key=lambda row: row[1])  # type: ignore[return-value]


def connect_network(network: str, container: str) -> bool:
    """Connect ``container`` to ``network``; True when it is connected afterwards."""
    result = _docker("network", "connect", network, container, check=False)
    return result.returncode == 0 or "already exists" in result.stderr


def disconnect_network(network: str, container: str) -> None:
    _docker("network", "disconnect", "-f", network, container, check=False)


SERVICE_LABEL = "com.docker.compose.service"
PS_COLUMNS = ("SERVICE", "IMAGE", "STATUS", "PORTS")
_LOG_OUTPUT_BYTES = 1024 * 1024  # `--tail` bounds the lines, this their length


def project_containers(project: str, service: str | None = None) -> list[str]:
    """The IDs of ``project``'s containers (of ``service`` only, when given), as `docker compose ps
    -aq` lists them, asked of the Docker CLI: Compose would load the whole project first."""
    filters = [f"label=com.docker.compose.project={project}"]
    if service is not None:
        filters.append(f"label={SERVICE_LABEL}={service}")
    result = _docker("ps", "-aq", "--no-trunc", *(part for label in filters for part in ("--filter", label)))
    return result.stdout.split()


def copy_into(container: str, source: str, target: str, timeout: float = 60) -> None:
    """`docker cp source container:target` (what `docker compose cp` does, without loading the project)."""
    _docker("cp", source, f"{container}:{target}", timeout=timeout)


def start(containers: list[str], timeout: float = _TIMEOUT) -> bool:
    """`docker start`: True when every container started (else `compose up` tells why not)."""
    return _docker("start", *containers, timeout=timeout, check=False).returncode == 0


def stop(containers: list[str], timeout: float = _TIMEOUT) -> bool:
    """`docker stop -t 0` (a kill): True when every container stopped."""
    return _docker("stop", "-t", "0", *containers, timeout=timeout, check=False).returncode == 0


def restart(container: str, timeout: float = _TIMEOUT) -> bool:
    """`docker restart -t 0`: what `docker compose restart -t 0` does to one container."""
    return _docker("restart", "-t", "0", container, timeout=timeout, check=False).returncode == 0


def exec_in(container: str, argv: list[str], *, timeout: float, input_text: str | None = None,
            max_output_bytes: int = runner.MAX_OUTPUT_BYTES) -> runner.Completed:
    """Run ``argv`` in ``container`` without a terminal (`docker compose exec -T`), stdin attached
    only when there is input; the result whatever its exit code."""
    interactive = ["-i"] if input_text is not None else []
    return runner.run(["docker", "exec", *interactive, container, *argv], timeout=timeout, env=minimal_env(),
                      check=False, input_text=input_text, max_output_bytes=max_output_bytes)


def project_ps(project: str) -> list[tuple[str, ...]]:
    """What `docker compose ps -a` shows of ``project`` (service, image, status, ports per container),
    asked of the Docker CLI: a tenth of the time of Compose, which loads the project first."""
    fields = "\t".join(["{{.Label \"%s\"}}" % SERVICE_LABEL, "{{.Image}}", "{{.Status}}", "{{.Ports}}"])
    result = _docker("ps", "-a", "--filter", f"label=com.docker.compose.project={project}", "--format", fields,
                     check=False, timeout=30)
    rows = [tuple(line.split("\t")) for line in result.stdout.splitlines() if line.strip()]
    return sorted(row for row in rows if len(row) == len(PS_COLUMNS))


def container_logs(container: str, lines: int) -> list[str]:
    """The last ``lines`` lines a container wrote, stdout and stderr in the order they were written
    (as `docker compose logs` shows them): the Docker CLI gives each stream apart, with timestamps."""
    result = runner.run(["docker", "logs", "--tail", str(lines), "--timestamps", container], timeout=30,
                        env=minimal_env(), check=False, max_output_bytes=_LOG_OUTPUT_BYTES)
    if result.returncode != 0 and not result.killed_for_output:
        return []  # no such container (it was never created)
    stamped = []
    for order, line in enumerate(result.stdout.splitlines() + result.stderr.splitlines()):
        stamp, _, text = line.partition(" ")
        seconds, _, fraction = stamp.rstrip("Z").partition(".")
        stamped.append((seconds, fraction.ljust(9, "0"), order, text))
    return [text for *_, text in sorted(stamped)][-lines:]
