"""The layout the code promises, checked (docs/architecture.md draws it): packages reached only through their
facades, the domain without SQL, no import cycle between packages, and the import-linter contracts of
pyproject.toml (layers, no I/O in the core and the domain, none in the services, no SQL in the web)."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import cti.persistence

CTI = Path(cti.persistence.__file__).resolve().parents[1]
DOMAIN = ("acd", "crm", "ivr", "sales", "scripting", "stats", "surveys", "wfm")
"""Packages that hold no SQL: the persistence layer stores what they define."""


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(CTI.rglob("*.py")):
        parts = path.relative_to(CTI.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(name: str, path: Path) -> set[str]:
    """Every module ``path`` imports, at any depth of its code, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_the_persistence_facade_is_sorted_and_made_of_private_modules() -> None:
    assert cti.persistence.__all__ == sorted(cti.persistence.__all__)
    for name in cti.persistence.__all__:
        assert getattr(cti.persistence, name).__module__.startswith("cti.persistence._"), name
    public = [path.name for path in (CTI / "persistence").glob("*.py") if not path.name.startswith("_")]
    assert public == []


def owner(module: str) -> str | None:
    """The package whose private module ``module`` is (``cti.acd._center`` -> ``cti.acd``), else None."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__") and index > 0:
            return ".".join(parts[:index])
    return None


def test_no_package_reaches_into_another_s_private_modules() -> None:
    for name, path in modules():
        for imported in imports(name, path):
            home = owner(imported)
            if home is not None and home.startswith("cti") and not (name == home or name.startswith(home + ".")):
                raise AssertionError(f"{name} imports {imported}: use the {home} facade")


def test_domain_packages_hold_no_sql() -> None:
    for name, path in modules():
        if package(name) not in {f"cti.{domain}" for domain in DOMAIN}:
            continue
        sql = {m for m in imports(name, path) if m.split(".")[0] in ("sqlalchemy", "alembic")
               or m.startswith("cti.persistence")}
        assert not sql, f"{name} imports {sorted(sql)}"


def test_no_import_cycle_between_packages() -> None:
    graph: dict[str, set[str]] = {}
    for name, path in modules():
        graph.setdefault(package(name), set()).update(
            package(m) for m in imports(name, path) if m.startswith("cti.") and package(m) != package(name))

    def reaches(start: str, target: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == target:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(graph.get(current, ()))
        return False

    cycles = sorted((a, b) for a, targets in graph.items() for b in targets if reaches(b, a))
    assert cycles == []



def test_the_import_contracts_hold() -> None:
    """The same check as ``lint-imports`` in scripts/test, so a test run alone catches a broken contract (in a
    process of its own: import-linter reconfigures logging)."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=CTI.parent, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
