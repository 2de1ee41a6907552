"""Deterministic generation of submission folders from the variations in ``variants``.

Two families: every variation alone on a correct submission (so each one is named by a
failure on its own), then seeded random combinations of one variation per dimension (so the
variations meet each other: a UTF-16 override, a profile with an interpolated port, ...).
Nothing here knows what the grade should be; the oracle derives that from Compose.
"""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from tests.differential import spec as specs
from tests.differential.variants import DIMENSIONS, Variant

SEED = 10            # the number: change it only on purpose, the case ids depend on it
COMBINATIONS = 130


@dataclass
class Case:
    id: str
    description: str
    variants: dict[str, str]                  # dimension -> variant id
    spec: specs.Spec = field(repr=False)
    folder: Path | None = None                # set by write_cases

    @property
    def path(self) -> Path:
        """The folder it was written to (by write_cases)."""
        assert self.folder is not None, "write_cases() has not written this case"
        return self.folder

    @property
    def service_order(self) -> list[str]:
        return self.spec.service_order()

    def describe(self) -> str:
        return f"{self.id}: {self.description}"


def _build(case_id: str, chosen: list[Variant]) -> Case:
    spec = specs.Spec()
    for variant in chosen:
        variant.apply(spec)
    return Case(id=case_id, description="; ".join(f"{v.dimension} {v.id}: {v.description}" for v in chosen),
                variants={v.dimension: v.id for v in chosen}, spec=spec)


def single_cases() -> list[Case]:
    return [_build(f"{dimension}-{variant.id}", [variant])
            for dimension, variants in DIMENSIONS.items() for variant in variants]


def combined_cases(count: int = COMBINATIONS, seed: int = SEED) -> list[Case]:
    """``count`` distinct combinations, one combinable variation from each dimension."""
    rng = random.Random(seed)
    pools = {dimension: [v for v in variants if v.combine] for dimension, variants in DIMENSIONS.items()}
    seen: set[tuple[str, ...]] = set()
    cases: list[Case] = []
    while len(cases) < count:
        chosen = [rng.choice(pool) for pool in pools.values()]
        key = tuple(v.id for v in chosen)
        if key in seen:
            continue
        seen.add(key)
        cases.append(_build(f"mix{len(cases):03d}-" + "+".join(key), chosen))
    return cases


def generate_cases() -> list[Case]:
    cases = single_cases() + combined_cases()
    ids = [case.id for case in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return cases


def folder_name(case_id: str) -> str:
    """A folder name Compose accepts as a project name (lowercase letters, digits, - and _)."""
    return re.sub(r"[^a-z0-9_-]+", "_", case_id.lower())[:120]


def write_cases(cases: list[Case], root: Path) -> None:
    for case in cases:
        case.folder = root / folder_name(case.id)
        specs.write(case.spec, case.folder)
