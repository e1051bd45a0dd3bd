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
    ("gensynth.training", "gensynth.modeldir", "gensynth.modelcard", "gensynth.bench_targets"),
    ("gensynth.deploy",),
    ("gensynth.studies",),
    ("gensynth.search",),
    ("gensynth.engines",),
    ("gensynth.exploration",),
    ("gensynth.explain",),
    ("gensynth.api",),
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


def _resolve(path: Path, node: ast.ImportFrom) -> str | None:
    """The absolute module of ``from ... import``: relative imports are resolved against the
    file's own package, so ``from ._x import y`` is seen like ``from gensynth.pkg._x``."""
    if not node.level:
        return node.module
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imports(path: Path, *, runtime_only: bool = False) -> list[tuple[int, str, str | None]]:
    """(line, module, imported name or None) for every gensynth import in a file; with
    ``runtime_only``, those under ``if TYPE_CHECKING:`` (never executed) are left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            module = _resolve(path, node)
            if module and module.split(".")[0] == "gensynth":
                found += [(node.lineno, module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name, None)
                for a in node.names
                if a.name.split(".")[0] == "gensynth"
            ]
    return found


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


#: Every module the package holds, by its installed name.
_MODULES = frozenset(_module_name(p) for p in _sources())


def _private(module: str, name: str | None) -> bool:
    """Whether ``module.name`` reaches a ``_private`` module or name."""
    parts = [*module.split("."), *([name] if name else [])]
    return any(p.startswith("_") and not p.startswith("__") for p in parts[1:])


def test_every_package_module_has_a_layer():
    units = {_unit(_module_name(path)) for path in _sources()}
    assert units <= set(LEVEL), sorted(units - set(LEVEL))


def _target(module: str, name: str | None) -> str:
    """The module an import reaches: ``from gensynth import training`` reaches the
    subpackage, ``from gensynth.data import load_dataset`` the package."""
    joined = f"{module}.{name}" if name else module
    return joined if joined in _MODULES else module


def test_imports_point_downward():
    upward = []
    for path in _sources():
        here = _module_name(path)
        for line, module, name in _imports(path):
            target = _unit(_target(module, name))
            if LEVEL.get(target, -1) > LEVEL[_unit(here)]:
                upward.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not upward, "\n".join(upward)


def test_every_import_reaches_a_known_module():
    """An import of a gensynth module that does not exist, or of a unit without a layer,
    is a failure, not a pass: otherwise a typo or a new subpackage escapes the rules."""
    unknown = []
    for path in _sources():
        for line, module, name in _imports(path):
            target = _target(module, name)
            if target not in _MODULES or _unit(target) not in LEVEL:
                unknown.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not unknown, "\n".join(unknown)


def _graph() -> dict[str, set[str]]:
    """Module -> the gensynth modules it imports when it runs (lazy imports inside functions
    too; type-only imports under ``TYPE_CHECKING`` are not executed, so they are left out),
    where a package import counts as an import of its ``__init__``."""
    edges: dict[str, set[str]] = {}
    for path in _sources():
        here = _module_name(path)
        targets = {_target(m, n) for _, m, n in _imports(path, runtime_only=True)}
        edges[here] = {t for t in targets if t in _MODULES and t != here}
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    cycles = _cycles(_graph())
    assert not cycles, "\n".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_check_itself():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


#: The one module per library allowed to touch that library's private names, and why.
_FENCES = {ROOT / "studies" / "_optuna_internals.py"}


def _foreign(node: ast.ImportFrom) -> bool:
    """An absolute import from a package other than gensynth."""
    return not node.level and bool(node.module) and node.module.split(".")[0] != "gensynth"


def _third_party_privates(path: Path) -> list[str]:
    """``x._name`` on anything but ``self``/``cls``, and ``_private`` imports from other
    packages: a library's private API, which may change in any release."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and _private(f"x.{node.attr}", None):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if not (isinstance(root, ast.Name) and root.id in ("self", "cls")):
                found.append(f"{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and _foreign(node):
            names = [a.name for a in node.names]
            if any(_private(str(node.module), n) for n in names):
                found.append(f"{node.lineno}: from {node.module} import {', '.join(names)}")
    return found


def test_no_third_party_private_names_outside_their_fence():
    leaks = [
        f"{path.relative_to(ROOT)}:{hit}"
        for path in _sources()
        if path not in _FENCES
        for hit in _third_party_privates(path)
    ]
    assert not leaks, "\n".join(leaks)


def test_the_third_party_rule_itself(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import optuna\n"
        "from torch.nn.modules.batchnorm import _BatchNorm\n"
        "d._contains(1)\n"
        "self._ok = 1\n"
    )
    hits = _third_party_privates(sample)
    assert [h.split(":")[0] for h in hits] == ["2", "3"]


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


def test_relative_imports_are_resolved_and_checked(tmp_path, monkeypatch):
    """``from ..search import x`` in gensynth/training/_fit.py reaches gensynth.search."""
    fake = ROOT / "gensynth" / "training" / "_fit.py"
    source = "from ..search import runner\nfrom ._config import TrainConfig\nfrom . import _ema\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    found = _imports(fake)
    assert [(m, n) for _, m, n in found] == [
        ("gensynth.search", "runner"),
        ("gensynth.training._config", "TrainConfig"),
        ("gensynth.training", "_ema"),
    ]
    target = _unit(_target(*found[0][1:]))
    assert LEVEL[target] > LEVEL["gensynth.training"]  # so test_imports_point_downward fails


def test_an_unknown_target_is_not_known():
    assert "gensynth.serch.runner" not in _MODULES
    assert "gensynth.search.runner" in _MODULES
    assert _target("gensynth", "training") == "gensynth.training"
