"""Booting a stack with no fixed waits, and with what is independent done at once.

The services that run an image (Redis) start at once, while the images of the others (the web
app) build in a background thread; those start when built and once the first start has ended
(one `compose up` of a project at a time). The checks that need only Redis run
meanwhile; a check that needs a built service waits for it (``BootSequence.wait``). Nothing
sleeps: "still running a few seconds later" is judged by stack-up at the end of the runtime
checks, from the times the engine records (grader/docker/stack.py).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grader.docker import runner

if TYPE_CHECKING:
    from grader.docker.stack import Stack

# How long a check waits at most for a service that starts after its build.
_STOP_BACKGROUND_S = 30


class BootSequence:
    """The boot of one stack: the image-only services now, the built ones in the background."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        built = set(stack.plan.built_images)
        self.later = _needing(built, stack.plan.config.get("services") or {})
        self.now = [name for name in stack.services if name not in self.later]
        self.error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        # Set once the image-only services were started: two `compose up` of one project at once
        # can both act on the same container (the second `up` also ensures the dependencies), and
        # one then finds it gone ("No such container"). Builds still overlap the first start.
        self._first_started = threading.Event()

    def start(self, start_services: Callable[[list[str]], None]) -> None:
        """Start the image-only services in this thread, after starting the builds in another."""
        if self.later:
            self._thread = threading.Thread(target=self._background, args=(start_services,), daemon=True,
                                            name=f"boot-{self.stack.run_id}")
            self._thread.start()
        else:
            self._done.set()
        try:
            start_services(self.now)
        finally:
            self._first_started.set()

    def _background(self, start_services: Callable[[list[str]], None]) -> None:
        try:
            for name in self.stack.plan.built_images:
                self.stack.build(name)
            self._first_started.wait()
            start_services([name for name in self.later if not self.stack.services[name].build_error])
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits (wait re-raises it)
            self.error = exc
        finally:
            self._done.set()

    def wait(self, service: str | None = None) -> None:
        """Until ``service`` (default: every service) has been started (or failed to)."""
        if service is not None and service not in self.later:
            return
        timeout = self.stack.limits.build_timeout_s + self.stack.limits.boot_timeout_s
        if not self._done.wait(timeout):
            raise TimeoutError(f"the services {', '.join(self.later)} were not started within {timeout:g} s")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """Stop the background boot (teardown): kill what it runs, and wait for the thread."""
        if self._thread is not None and self._thread.is_alive() and self._thread.ident is not None:
            runner.kill_commands_of(self._thread.ident)
            self._thread.join(_STOP_BACKGROUND_S)


def _needing(built: set[str], services: dict[str, Any]) -> list[str]:
    """The built services and every service that depends on one (through depends_on or
    network_mode: service:), in the plan's order: they can only start after the builds."""
    waiting = set(built)
    changed = True
    while changed:
        changed = False
        for name, service in services.items():
            if name in waiting or not isinstance(service, dict):
                continue
            if _dependencies(service) & waiting:
                waiting.add(name)
                changed = True
    return [name for name in services if name in waiting]


def _dependencies(service: dict[str, Any]) -> set[str]:
    depends = service.get("depends_on") or {}
    names = set(depends) if isinstance(depends, (dict, list)) else set()
    mode = service.get("network_mode")
    if isinstance(mode, str) and mode.startswith("service:"):
        names.add(mode.split(":", 1)[1])
    return names
