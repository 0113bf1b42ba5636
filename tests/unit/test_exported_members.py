"""Every package's ``__init__`` is its public surface (httpx's ``tests/test_exported_members.py`` is the model):
``__all__`` names exactly what the package exports, every exported class and function is defined in the
package's own private modules, and nothing else in the package is public."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from pathlib import Path

import pytest

import cti

CTI = Path(cti.__file__).resolve().parent
SINGLE_MODULES = {"cti.errors", "cti.geography", "cti.records", "cti.settings", "cti.tasks", "cti.types",
                  "cti.__main__", "cti.redis_url", "cti.redis_client"}
"""Small modules of their own (the shared vocabulary, settings, the forms of the Redis URL the settings check and
the one maker of Redis clients for cti.live and cti.cluster): public by design."""


def packages() -> list[str]:
    found = ["cti"]
    for info in pkgutil.walk_packages([str(CTI)], prefix="cti."):
        if info.ispkg and not any(part.startswith("_") for part in info.name.split(".")):
            found.append(info.name)
    return sorted(found)


@pytest.mark.parametrize("name", [p for p in packages() if p != "cti"])
def test_all_public_names_are_exported(name: str) -> None:
    package = importlib.import_module(name)
    exported = list(package.__all__)
    assert len(exported) == len(set(exported)), f"{name}.__all__ names something twice"
    public = {member for member, value in vars(package).items()
              if not member.startswith("_")
              # A public subpackage (cti.speech.asr) is a facade of its own, checked on its own.
              and not (isinstance(value, types.ModuleType) and value.__name__ == f"{name}.{member}"
                       and hasattr(value, "__path__"))}
    assert set(exported) == public, f"{name}: exported but missing {set(exported) - public}, " \
                                    f"public but not exported {public - set(exported)}"


@pytest.mark.parametrize("name", [p for p in packages() if p != "cti"])
def test_exported_classes_and_functions_come_from_the_package(name: str) -> None:
    package = importlib.import_module(name)
    for member in package.__all__:
        value = getattr(package, member)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__.startswith(f"{name}."), f"{name}.{member} is {value.__module__}'s"


def test_packages_hold_only_private_modules() -> None:
    """A module reached from outside its package is reached through the facade; so only the facade is public."""
    public = []
    for path in sorted(CTI.rglob("*.py")):
        relative = path.relative_to(CTI.parent).with_suffix("")
        name = ".".join(relative.parts)
        if path.name == "__init__.py" or name in SINGLE_MODULES or "migrations" in relative.parts:
            continue
        if not any(part.startswith("_") for part in relative.parts[1:]):
            public.append(name)
    assert public == []


def test_the_root_package_exports_its_version_only() -> None:
    assert [n for n in vars(cti) if not n.startswith("_") and not isinstance(getattr(cti, n), types.ModuleType)] \
        == []
    assert cti.__version__
