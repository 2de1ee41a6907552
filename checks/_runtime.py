"""A fixture the runtime checks list before their other fixtures: a refused submission skips them with the policy's reason.

The plugin's `stack`, `redis_endpoint` and `web_url` fixtures first need the Compose model,
and a submission refused for reading files outside it never gets one: without this fixture
its runtime checks would say "the Compose file could not be loaded" instead of naming the
safety rule that stopped the boot.
"""
from __future__ import annotations

import pytest

from grader.context import GradingContext


@pytest.fixture(scope="session")  # session scope: pytest sets up wider scopes first, so it runs before them
def runtime(grading: GradingContext) -> None:
    """Skip this runtime check when nothing may run (static mode, or refused by the safety policy)."""
    reason = grading.runtime_skip_reason()
    if reason:
        pytest.skip(reason)
