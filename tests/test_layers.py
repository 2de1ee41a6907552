"""The house stays as built: grader/ is in layers, and no import runs back up them.

Every `import` and `from ... import` in grader/ (at the top of a module or inside a function)
is checked against the layers below the importing one. The root modules are the shared
vocabulary; `grader/__init__.py` and `grader/checking.py` are façades (checking.py re-exports
lazily, by name, never by import statement).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

GRADER = Path(__file__).resolve().parent.parent / "grader"
ROOT = "root"
# Each layer, and what it may import besides itself and the root vocabulary.
MAY_IMPORT = {
    ROOT: set(),
    "submission": set(),
    "policy": {"submission"},
    "docker": {"submission"},
    "evidence": {"submission"},
    "lms": {"submission"},
    "grading": {"submission", "policy", "docker", "evidence"},
    "report": {"lms", "evidence"},
    "batch": {"submission", "docker", "grading", "report", "lms"},
    "cli": {"submission", "policy", "docker", "grading", "evidence", "report", "batch", "lms"},
}
FACADES = {"__init__.py", "checking.py"}


def layer_of(path: Path) -> str:
    relative = path.relative_to(GRADER)
    return relative.parts[0] if len(relative.parts) > 1 else ROOT


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "grader":  # `from grader import policy` imports the package grader.policy
                found += [(node.lineno, f"grader.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name == "grader" or name.startswith("grader.")]


def target_layer(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) == 1:
        return None  # `from grader import __version__`: the package itself
    if (GRADER / parts[1]).is_dir():
        return parts[1]
    return ROOT


MODULES = sorted(p for p in GRADER.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_layer_is_known() -> None:
    layers = {layer_of(path) for path in MODULES}
    assert layers <= set(MAY_IMPORT), f"a folder of grader/ that the layer rules do not know: {layers - set(MAY_IMPORT)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(GRADER)))
def test_no_import_runs_back_up(path: Path) -> None:
    if path.parent == GRADER and path.name in FACADES:
        return
    layer = layer_of(path)
    allowed = MAY_IMPORT[layer] | {layer, ROOT}
    wrong = [f"line {line}: {module} ({target_layer(module)})" for line, module in imported_modules(path)
             if target_layer(module) is not None and target_layer(module) not in allowed]
    assert not wrong, f"{path.relative_to(GRADER)} ({layer}) imports from layers above it: {wrong}"


def test_the_issues_own_rules_hold() -> None:
    """Stated in issue 11: nothing under submission/, policy/ or docker/ imports from grading/,
    batch/, report/ or cli/; report/ imports nothing from docker/ or grading/."""
    for path in MODULES:
        layer = layer_of(path)
        targets = {target_layer(module) for _, module in imported_modules(path)}
        if layer in ("submission", "policy", "docker"):
            assert not targets & {"grading", "batch", "report", "cli"}, path
        if layer == "report":
            assert not targets & {"docker", "grading"}, path


def test_the_layer_check_itself_sees_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from grader.cli.main import main\nimport grader.batch.pool\n\ndef f():\n"
                      "    from grader import gradebook\n")
    assert [name for _, name in imported_modules(sample)] == ["grader.cli.main", "grader.batch.pool", "grader",
                                                              "grader.gradebook"]
    assert target_layer("grader.cli.main") == "cli" and target_layer("grader.results") == ROOT


MAX_FUNCTION_LINES = 40
MAX_MODULE_LINES = 400


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(GRADER)))
def test_rooms_stay_small(path: Path) -> None:
    """The house rule of issue 11: no function longer than 40 lines, no module longer than 400."""
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(GRADER)} has {lines} lines"
    assert not long_functions(path), f"{path.relative_to(GRADER)}: {long_functions(path)}"


def test_the_size_check_itself_sees_a_long_function(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def short():\n    return 1\n\n\ndef long():\n" + "    x = 1\n" * 40)
    assert long_functions(sample) == ["long (41 lines, line 5)"]
