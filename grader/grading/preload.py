"""Loading what comes next while Compose reads the files.

`docker compose config` runs on its own CPU for a few tens of milliseconds, during which the
grader would only wait; the modules the next phase imports first (the boot's, the report's) are
imported in that time instead, so a static `grader check` does not pay for them one after the
other. The imports run in the grading's own thread: importing in a second thread while the first
imports too can deadlock on a cycle of module locks.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence

# The modules each mode imports first once Compose has read the files. Auto mode boots when an
# engine answers, which is the usual case; pytest itself is left out: it takes several times as
# long as Compose's reading, and the boot it would hold back is what a full grading waits for.
NEXT_PHASE = {"full": ("grader.grading.booting",), "auto": ("grader.grading.booting",)}


def modules_for(mode: str, wanted: Sequence[str] = ()) -> tuple[str, ...]:
    """The modules to load while Compose reads: the next phase's of ``mode``, then ``wanted`` (the
    caller's, for what it does after the grading)."""
    return tuple(dict.fromkeys((*NEXT_PHASE.get(mode, ()), *wanted)))


def preloader(modules: Sequence[str]) -> Callable[[], None]:
    """A callable that imports ``modules``; a module that cannot be imported (an extra that is not
    installed) is left for the import that needs it, which says what is missing where it matters."""
    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
    return load
