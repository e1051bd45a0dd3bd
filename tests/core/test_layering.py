"""The layering stays true: imports point downward, and nobody imports another's privates.

Every ``import`` in the package is read from the source (inside functions and
``TYPE_CHECKING`` blocks too), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Source folder -> the package it installs as (pyproject.toml's package-dir).
FOLDERS = {
    "gensynth": "gensynth",
    "prototypes": "gensynth.prototypes",
    "constraints": "gensynth.constraints",
    "studies": "gensynth.studies",
    "explain": "gensynth.explain",
    "cli": "gensynth.cli",
}
#: Lowest first. A module may import its own layer and the ones below it.
LAYERS = (
    ("gensynth", "gensynth.errors", "gensynth.registry", "gensynth.config",
     "gensynth.vocabulary", "gensynth.provenance", "gensynth.paths", "gensynth.redaction"),
    ("gensynth.prototypes",),
    ("gensynth.backends",),
    ("gensynth.constraints",),
    ("gensynth.data",),
    ("gensynth.training", "gensynth.modeldir", "gensynth.bench_targets"),
    ("gensynth.studies",),
    ("gensynth.search",),
    ("gensynth.engines",),
    ("gensynth.explore",),
    ("gensynth.explain",),
    ("gensynth.cli",),
)  # fmt: skip
LEVEL = {unit: level for level, units in enumerate(LAYERS) for unit in units}


def _module_name(path: Path) -> str:
    folder, *rest = path.relative_to(ROOT).with_suffix("").parts
    if rest and rest[-1] == "__init__":
        rest = rest[:-1]
    return ".".join([FOLDERS[folder], *rest])


def _unit(module: str) -> str:
    """The layer unit a module belongs to: its subpackage, or a root module of gensynth."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def _imports(path: Path) -> list[tuple[int, str, str | None]]:
    """(line, module, imported name or None) for every gensynth import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gensynth"):
            found += [(node.lineno, node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name, None) for a in node.names if a.name.startswith("gensynth")
            ]
    return found


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def _private(module: str, name: str | None) -> bool:
    """Whether ``module.name`` reaches a ``_private`` module or name."""
    parts = [*module.split("."), *([name] if name else [])]
    return any(p.startswith("_") and not p.startswith("__") for p in parts[1:])


def test_every_package_module_has_a_layer():
    units = {_unit(_module_name(path)) for path in _sources()}
    assert units <= set(LEVEL), sorted(units - set(LEVEL))


def test_imports_point_downward():
    upward = []
    for path in _sources():
        here = _module_name(path)
        for line, module, name in _imports(path):
            target = _unit(f"{module}.{name}" if module == "gensynth" and name else module)
            if target in LEVEL and LEVEL[target] > LEVEL[_unit(here)]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not upward, "\n".join(upward)


def test_no_module_imports_another_packages_private_names():
    leaks = []
    for path in _sources():
        here = _unit(_module_name(path))
        for line, module, name in _imports(path):
            if _unit(module) != here and _private(module, name):
                leaks.append(f"{path.relative_to(ROOT)}:{line} imports {module}.{name}")
    assert not leaks, "\n".join(leaks)


@pytest.mark.parametrize(
    ("module", "name", "private"),
    [
        ("gensynth.training._tensors", "prepare", True),
        ("gensynth.training", "_snapshot", True),
        ("gensynth.training", "prepare", False),
        ("gensynth.__init__", None, False),
    ],
)
def test_the_private_rule_itself(module, name, private):
    assert _private(module, name) is private
