"""A booted stack: a context manager whose teardown always runs, even when boot fails.

Booting is resilient per service: a web image that fails to build, or an image that
does not exist, does not stop the other services from starting and being checked. It waits
for nothing it cannot observe (grader/docker/boot.py): the image-only services start while the
others build, and stops use no grace period but where a graceful stop is what is tested.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from grader.docker import commands as docker
from grader.docker import incontainer, runner
from grader.docker.boot import BootSequence
from grader.docker.bootfile import RUN_LABEL, BootPlan
from grader.docker.build import build_image
from grader.docker.compose import ComposeProject
from grader.errors import CommandError, CommandTimeout, DockerUnavailable
from grader.docker.lifetimes import Lifetimes
from grader.docker.listeners import Listener, parse_listeners
from grader.docker.service_state import ServiceState, _apply_inspect  # noqa: F401 - ServiceState is part of the stack's API
from grader.rubric import Limits

LOG_TAIL_LINES = 40


class Stack:
    """Boots a BootPlan under a unique project name and always tears it down."""

    def __init__(self, project: ComposeProject, plan: BootPlan, *, run_id: str, limits: Limits,
                 dump: tuple[str, Path] | None = None, scratch: Path | None = None) -> None:
        self.project = project
        self.plan = plan
        self.run_id = run_id
        self.limits = limits
        self.dump = dump  # (service, dump.rdb path) to load before the first start
        self.services = {name: ServiceState(name, shares_network_of=_shared_network(svc))
                         for name, svc in plan.config.get("services", {}).items()}
        self.scratch = scratch if scratch is not None else Path(tempfile.gettempdir())
        self.booted = False
        self.boot_error: CommandError | None = None
        self._orphan_volumes: set[str] = set()
        self.teardown_problems: list[str] = []
        self.grader_container: str | None = None  # set when the grader itself runs in a container
        self._joined: list[str] = []
        self.sequence: BootSequence | None = None
        self._early: threading.Thread | None = None   # the boot begun before the checks were loaded
        self._early_error: BaseException | None = None
        self.lifetimes = Lifetimes(limits.settle_s)  # what stack-up's "keeps running" is judged on
        # Called once before `down_and_up` takes the stack down: the last look at the stack as the
        # student's files left it (the grading records `ps` and the logs there, issue 14).
        self.before_down: Callable[[], None] | None = None

    # Context manager ------------------------------------------------------------

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.teardown()

    # Boot ----------------------------------------------------------------------------

    def boot_in_background(self) -> None:
        """Begin the boot in a thread, so that it overlaps what comes before the first runtime check
        (loading pytest and the checks); ``boot()`` then waits for it. Teardown stops it."""
        if self.booted or self._early is not None:
            return
        self._early = threading.Thread(target=self._boot_early, daemon=True, name=f"early-boot-{self.run_id}")
        self._early.start()

    def _boot_early(self) -> None:
        try:
            self.boot()
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that asks for the stack (boot re-raises it)
            self._early_error = exc

    def boot(self) -> None:
        """Start the image-only services (loading dump.rdb first) while the others build in the
        background; record each service's state. Returns as soon as the first ones run."""
        if self._early is not None and threading.current_thread() is not self._early:
            self._early.join()
            if self._early_error is not None:
                raise self._early_error
            return
        if self.booted:
            return
        self.booted = True
        self._snapshot_binds()
        self.grader_container = incontainer.own_container_id()
        self.sequence = BootSequence(self)
        self.sequence.start(self._start_group)

    def wait_booted(self, service: str | None = None) -> None:
        """Until ``service`` (default: every service) has been built and started, or failed to."""
        if self.sequence is not None:
            self.sequence.wait(service)

    def note_answered(self, service: str) -> None:
        """``service`` answered a probe (PING, a page): it is up, in its current life."""
        self.lifetimes.note_answered(service)

    def _start_group(self, names: list[str]) -> None:
        startable = [name for name in names if not self.services[name].build_error]
        created = self._load_dump(startable)
        alone = self.dump is not None and startable == [self.dump[0]]
        if not (alone and created and docker.start(created)):
            self._start(startable)  # `up` (its errors say which service is at fault, and why)
        self.lifetimes.started(startable)
        self._join_networks()
        self.refresh()

    def build(self, name: str) -> None:
        state = self.services[name]
        missing = self._missing_build_input(name)
        if missing:  # say so plainly, without asking BuildKit
            state.build_summary, state.build_hint = missing
            state.build_error = f"(the grader did not start the build: {state.build_summary})"
            return
        labels = self.plan.config["services"][name].get("labels", {})
        failure = build_image(self.plan.builds[name], self.plan.built_images[name], labels, self.limits,
                              self.scratch)
        if failure is not None:
            state.build_error = self._scrub(failure.output) or "(no output)"
            state.build_summary = self._scrub(failure.summary or "") or None
            state.build_hint = failure.hint

    def _snapshot_binds(self) -> None:
        """Copy each bind source into its grader-owned folder before anything runs: containers then
        write to the copy, and no container can turn a source into a link to a host path."""
        for snapshot, source in self.plan.binds.items():
            copy_snapshot(Path(source), Path(snapshot))

    def _missing_build_input(self, name: str) -> tuple[str, str] | None:
        """(what is missing, how to fix it) when the build context folder or the Dockerfile does not
        exist, named as the student wrote them; None when both are there (or are not local)."""
        build = self.plan.builds.get(name)
        if build is None:
            return None
        context = build.context
        if "://" in context or not os.path.isabs(context):
            return None
        if not os.path.isdir(context):
            return (f"the build context folder {self._shown(context)} does not exist",
                    (f"Point `build:` of `{name}` at the folder that holds its Dockerfile (usually `.`), "
                     "and submit that folder."))
        dockerfile = build.dockerfile or "Dockerfile"
        if build.dockerfile_inline or not isinstance(dockerfile, str):
            return None
        path = dockerfile if os.path.isabs(dockerfile) else os.path.join(context, dockerfile)
        if not os.path.isfile(path):
            return (f"there is no {self._shown(path)} (the Dockerfile the build needs)",
                    (f"Add the Dockerfile of `{name}` to your submission (named exactly `Dockerfile`), "
                     "or set `build: {dockerfile: ...}` to its name."))
        return None

    def _shown(self, path: str) -> str:
        """A path inside the submission as the student sees it: ./app, ./Dockerfile."""
        relative = os.path.relpath(path, self.project.project_dir)
        return "." if relative == "." else relative if relative.startswith("..") else f"./{relative}"

    def _scrub(self, text: str) -> str:
        """Build and Compose output without the grader's temp folder in it."""
        return text.replace(str(self.project.project_dir) + os.sep, "./").replace(str(self.project.project_dir), ".")

    def _load_dump(self, startable: list[str]) -> list[str]:
        """Create the Redis container and copy dump.rdb into it before its first start; return the
        containers created (when the group is that service alone, `docker start` is all `up` would do)."""
        if not self.dump or self.dump[0] not in startable:
            return []
        service, path = self.dump  # checked by the engine (submission.dump_problem) before it got here
        try:
            self.project.run("create", "--no-build", service, timeout=self.limits.boot_timeout_s)
            containers = docker.project_containers(self.project.name, service)
            for container in containers:
                docker.copy_into(container, str(path), "/data/dump.rdb")
            return containers
        except DockerUnavailable:
            raise
        except CommandError as exc:
            self._start_failed(service, exc)
            return []

    def _start(self, names: list[str]) -> None:
        names = [name for name in names if not self.services[name].start_error]
        if not names:
            return
        try:
            self.project.run("up", "-d", "--no-build", *names, timeout=self.limits.boot_timeout_s)
            return
        except DockerUnavailable:
            raise
        except CommandError:
            pass  # find out which service is at fault by starting each alone
        for name in names:
            try:
                self.project.run("up", "-d", "--no-build", "--no-deps", name, timeout=self.limits.boot_timeout_s)
            except DockerUnavailable:
                raise
            except CommandError as exc:
                self._start_failed(name, exc)

    def _start_failed(self, name: str, exc: CommandError) -> None:
        state = self.services[name]
        state.start_error = self._scrub(exc.output_tail(LOG_TAIL_LINES))
        image = self.plan.config.get("services", {}).get(name, {}).get("image")
        if isinstance(image, str) and name not in self.plan.built_images and not docker.inspect([image], "image"):
            state.pull_error = f"its image `{image}` is not on this machine and could not be pulled: " + \
                pull_failure_reason(exc.stdout + "\n" + exc.stderr)

    # State -----------------------------------------------------------------------------

    def container_ids(self) -> list[str]:
        return docker.project_containers(self.project.name)

    def container_of(self, service: str) -> str | None:
        """The container of ``service`` as last refreshed (None: it has none)."""
        state = self.services.get(service)
        return state.container_id if state else None

    def refresh(self) -> dict[str, ServiceState]:
        for info in docker.inspect(self.container_ids()):
            name = info.get("Config", {}).get("Labels", {}).get("com.docker.compose.service")
            if name in self.services:
                _apply_inspect(self.services[name], info)
        return self.services

    def endpoint(self, service: str, port: int) -> tuple[str, int] | None:
        """Where the grader reaches ``port`` of ``service``: its published loopback port, or its
        address on the stack's network (internal networks publish nothing; from inside a container,
        only the networks the grader joined count)."""
        state = self.services.get(service)
        if state is None:
            return None
        if self.plan.published and not self.grader_container:
            return state.ports.get(port)
        networks = self._joined if self.grader_container else list(state.addresses)
        address = next((state.addresses[net] for net in networks if net in state.addresses), None)
        if address is None and state.shares_network_of in self.services:
            return self.endpoint(state.shares_network_of, port)  # network_mode: service:<other>
        return (address, port) if address else None

    def _networks(self) -> list[str]:
        return [f"{self.project.name}_{key}" for key in self.plan.config.get("networks") or {}]

    def _join_networks(self) -> None:
        if self.grader_container and not self._joined:
            self._joined = incontainer.attach(self.grader_container, self._networks())
            self.refresh()

    def _leave_networks(self) -> None:
        """Leave before `down`: a network with the grader still on it cannot be removed."""
        if self.grader_container and self._joined:
            incontainer.detach(self.grader_container, self._joined)
            self._joined = []

    def logs(self, service: str, lines: int = LOG_TAIL_LINES) -> str:
        try:
            result = self.project.run("logs", "--no-color", "--no-log-prefix", "--tail", str(lines), service,
                                      timeout=30, check=False)
        except CommandTimeout:
            return ""
        return (result.stdout + result.stderr).strip()

    def listeners(self, service: str) -> list[Listener] | None:
        """The TCP sockets listening inside the service's container; None when that cannot be known
        (no container, or an image without `cat`)."""
        container = self.container_of(service)
        if container is None:
            return None
        try:
            result = docker.exec_in(container, ["cat", "/proc/net/tcp", "/proc/net/tcp6"], timeout=15)
        except CommandTimeout:
            return None
        if result.killed_for_output or "local_address" not in result.stdout:  # a flood tells nothing
            return None
        return parse_listeners(result.stdout)

    def wait_running(self, service: str, timeout: float, *, until_down: bool = False) -> ServiceState:
        """Poll until ``service`` runs (or, ``until_down``, until it does not: a crash loop seen
        between two crashes tells its exit code only while Docker waits to restart it)."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.refresh()[service]
            if state.running != until_down or time.monotonic() > deadline:
                return state
            time.sleep(0.1)  # polls what it waits for; the engine answers in milliseconds

    # Actions checks take ---------------------------------------------------------------------

    def restart(self, service: str) -> None:
        """Restart ``service`` at once (no grace period: a web app's graceful stop is not what is graded)."""
        container = self.container_of(service)
        if container is None or not docker.restart(container, self.limits.boot_timeout_s):
            self.project.run("restart", "-t", "0", service, timeout=self.limits.boot_timeout_s)
        self.lifetimes.restarted(service)
        self.refresh()

    def down_and_up(self, keep_graceful: str | None = None) -> None:
        """`docker compose down` (volumes kept) then `up` again, as a student would.

        ``keep_graceful`` (the Redis service) gets the normal stop timeout, so it can save.
        """
        self.wait_booted()
        if self.before_down is not None:
            look, self.before_down = self.before_down, None
            look()
        running = [name for name, state in self.services.items() if state.container_id]
        for state in self.refresh().values():
            self._orphan_volumes.update(state.volumes)
        self.lifetimes.went_down({name: state.problem for name, state in self.services.items() if state.problem})
        others = [name for name in running if name != keep_graceful]
        containers = [self.container_of(name) or "" for name in others]
        # they hold no data the check cares about; don't wait for apps that ignore SIGTERM
        if others and not (all(containers) and docker.stop(containers, self.limits.boot_timeout_s)):
            self.project.run("stop", "-t", "0", *others, timeout=self.limits.boot_timeout_s)
        self._leave_networks()
        self.project.run("down", "-t", "10", timeout=self.limits.boot_timeout_s)
        for state in self.services.values():
            state.container_id, state.running, state.ports = None, False, {}
        self.project.run("up", "-d", "--no-build", *running, timeout=self.limits.boot_timeout_s)
        self.lifetimes.came_back(running)
        self._join_networks()  # the caller waits for what it needs (wait_running refreshes the state)

    # Teardown ------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Remove every container, network, volume and image this run created."""
        label = f"{RUN_LABEL}={self.run_id}"
        if self._early is not None and self._early.is_alive() and self._early.ident is not None:
            runner.kill_commands_of(self._early.ident)
            self._early.join(30)
        if self.sequence is not None:
            self.sequence.stop()
        steps = [
            self._leave_networks,
            lambda: self.project.run("down", "-v", "--remove-orphans", "-t", "0", timeout=120, check=False),
            lambda: docker.remove_with_label(["container", "volume", "network", "image"], label,
                                             volumes=sorted(self._orphan_volumes),
                                             images=list(self.plan.built_images.values())),
        ]
        for step in steps:
            try:
                problems = step()
                if isinstance(problems, list):
                    self.teardown_problems += problems
            except CommandError as exc:
                self.teardown_problems.append(str(exc))


def _shared_network(service: dict[str, Any]) -> str | None:
    mode = service.get("network_mode")
    return mode.split(":", 1)[1] if isinstance(mode, str) and mode.startswith("service:") else None


def copy_snapshot(source: Path, snapshot: Path) -> None:
    """A private copy of a bind source: a folder (links copied as links, never followed), a file,
    or an empty folder where the source does not exist yet (as Docker would create it)."""
    source = Path(os.path.realpath(source))  # the policy checked that this stays inside the submission
    if source.is_dir():
        shutil.copytree(source, snapshot, symlinks=True)
    elif source.is_file():
        shutil.copy2(source, snapshot)
    else:
        snapshot.mkdir(parents=True)


def pull_failure_reason(output: str) -> str:
    """Why an image could not be pulled, in words for a student."""
    lowered = output.lower()
    if any(marker in lowered for marker in ("pull access denied", "repository does not exist", "manifest unknown",
                                             "not found", "invalid reference format")):
        return "no such image exists in the registry (check its name and tag), or it is private"
    if any(marker in lowered for marker in ("no such host", "dial tcp", "i/o timeout", "tls handshake timeout",
                                             "connection refused", "network is unreachable")):
        return "no image registry can be reached from the grading machine (check the image name and tag)"
    lines = [line.strip() for line in output.splitlines() if line.strip() and "level=warning" not in line]
    return lines[-1][:200] if lines else "Compose gave no reason"
