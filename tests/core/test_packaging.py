"""Every package folder is listed in pyproject.toml, so a non-editable install carries it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _installed_name(folder: Path, package_dir: dict[str, str]) -> str:
    rel = folder.relative_to(ROOT)
    top, rest = rel.parts[0], rel.parts[1:]
    owner = {src: name for name, src in package_dir.items()}[top]
    return ".".join((owner, *rest))


def test_every_package_folder_is_listed() -> None:
    config = _setuptools()
    package_dir = config["package-dir"]
    found = set()
    for top in package_dir.values():
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(_installed_name(init.parent, package_dir))
    missing = sorted(found - set(config["packages"]))
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_listed_packages_exist() -> None:
    config = _setuptools()
    package_dir = config["package-dir"]
    for name in config["packages"]:
        head, *rest = name.split(".")
        prefix = ".".join([head, rest[0]]) if rest and f"{head}.{rest[0]}" in package_dir else head
        src = package_dir[prefix]
        tail = name[len(prefix) + 1 :].split(".") if name != prefix else []
        assert (ROOT / src / Path(*tail) / "__init__.py").is_file(), name
