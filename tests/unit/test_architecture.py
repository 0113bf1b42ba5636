"""The layout the code promises, checked: one persistence package behind its facade, domain packages without
SQL, and no import cycle between cti's packages."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import cti.persistence

CTI = Path(cti.persistence.__file__).resolve().parents[1]
DOMAIN = ("crm", "wfm", "scripting")
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


def test_only_the_persistence_package_reaches_into_its_private_modules() -> None:
    for name, path in modules():
        if name.startswith("cti.persistence"):
            continue
        private = {m for m in imports(name, path) if m.startswith("cti.persistence._")}
        assert not private, f"{name} imports {sorted(private)}: use the cti.persistence facade"


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

