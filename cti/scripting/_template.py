"""Script texts as Jinja2 templates in a sandbox that sees only the data it is handed.

* Variables come from a few roots (:data:`ROOTS`); names and keys resolve only inside the mappings and
  lists passed in: no attribute of any Python object is reachable, private names (``_x``) are refused,
  and nothing can be called (filters from a short list are the only functions).
* A missing or empty value renders as a visible placeholder such as ``[customer.name]`` instead of
  failing, so the agent sees what the system does not know; ``{{ x | default('...') }}`` still works.
* :func:`check_template` finds every problem at load time (syntax, unknown roots or filters, calls,
  private names); :func:`render` enforces the same rules again when run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from jinja2 import Template, TemplateError, TemplateSyntaxError, Undefined, meta, nodes
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment

from cti.scripting._errors import RenderError, TemplateRefused

__all__ = ["FILTERS", "ROOTS", "check_template", "render"]

ROOTS: Final = ("agent", "billing", "call", "company", "customer", "offer", "promotion")
"""The variables a template may name: what the desktop knows about the call."""

_LOOP_FIELDS: Final = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length"})
_FORBIDDEN_NODES: Final = (nodes.Call, nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Macro,
                           nodes.CallBlock, nodes.FilterBlock)


class _Missing(Undefined):
    """An unknown value: prints as ``[path]``, is false, compares false, and stays missing through arithmetic."""

    __slots__ = ()

    @property
    def path(self) -> str:
        return self._undefined_name or "?"

    def __str__(self) -> str:
        return f"[{self.path}]"

    def _false(self, other: object) -> bool:
        return False

    def _same(self, *args: object) -> _Missing:
        return self

    __lt__ = __le__ = __gt__ = __ge__ = _false  # type: ignore[assignment]
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _same  # type: ignore[assignment]
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = _same  # type: ignore[assignment]
    __pos__ = __neg__ = _same  # type: ignore[assignment]


class _Data(dict[str, object]):
    """A mapping of the data that knows where it sits, to name what is missing from it."""

    __slots__ = ("path",)

    def __init__(self, path: str, items: dict[str, object]) -> None:
        super().__init__(items)
        self.path = path


class _Items(list[object]):
    __slots__ = ("path",)

    def __init__(self, path: str, items: list[object]) -> None:
        super().__init__(items)
        self.path = path


def _wrap(value: object, path: str) -> object:
    if isinstance(value, Mapping):
        return _Data(path, {str(k): _wrap(v, f"{path}.{k}") for k, v in value.items()})
    if isinstance(value, list | tuple):
        return _Items(path, [_wrap(v, f"{path}.{i}") for i, v in enumerate(value)])
    if value is None or isinstance(value, str | int | float | Decimal | date):
        return value
    # Anything else (objects, callables) is reduced to its text: nothing of it is reachable from a template.
    return str(value)


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def getattr(self, obj: Any, attribute: str) -> Any:
        return self._lookup(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        return self._lookup(obj, argument)

    def _lookup(self, obj: Any, key: Any) -> Any:
        if isinstance(key, str) and key.startswith("_"):
            raise SecurityError(f"the private name {key!r} is refused")
        if isinstance(obj, Undefined):
            base = obj.path if isinstance(obj, _Missing) else "?"
            return _Missing(name=f"{base}.{key}")
        if isinstance(obj, _Data):
            value = obj.get(str(key))
            return _Missing(name=f"{obj.path}.{key}") if value is None or value == "" else value
        if isinstance(obj, _Items) and isinstance(key, int) and not isinstance(key, bool):
            if -len(obj) <= key < len(obj):
                item = obj[key]
                return _Missing(name=f"{obj.path}.{key}") if item is None else item
            return _Missing(name=f"{obj.path}.{key}")
        if isinstance(obj, LoopContext) and key in _LOOP_FIELDS:
            return getattr(obj, key)
        # Strings, numbers and dates have no reachable attributes: ``name.upper`` is as unknown as a typo.
        return _Missing(name=f"?.{key}")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        raise SecurityError("calls are not allowed in script templates")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        # ``'x' * 10**9`` would exhaust memory; numbers still multiply.
        if operator == "**":
            raise SecurityError("the operator '**' is not allowed")
        if isinstance(left, str | list) or isinstance(right, str | list):
            raise SecurityError("the operator '*' is only allowed on numbers")
        return super().call_binop(context, operator, left, right)


def _tolerant(filter_: Callable[..., Any]) -> Callable[..., Any]:
    """Let a missing value through a filter unchanged, so ``[customer.name]`` is not turned into ``[CUSTOMER.NAME]``."""

    @functools.wraps(filter_)
    def wrapper(value: Any, *args: Any, **kwargs: Any) -> Any:
        return value if isinstance(value, Undefined) else filter_(value, *args, **kwargs)

    return wrapper


def _money(value: Any) -> Any:
    """Rupiah as Indonesians write it, in either language: ``Rp 1.250.000``."""
    if isinstance(value, Undefined) or isinstance(value, bool):
        return value
    try:
        amount = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(value)
    whole = int(amount)
    return ("-" if whole < 0 else "") + "Rp " + f"{abs(whole):,}".replace(",", ".")


FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    **{name: _tolerant(jinja_filters.FILTERS[name])
       for name in ("upper", "lower", "title", "capitalize", "trim", "round", "int")},
    **{name: jinja_filters.FILTERS[name] for name in ("default", "d", "join", "length", "replace", "truncate")},
    "money": _money,
}


def _environment() -> _Sandbox:
    env = _Sandbox(autoescape=False, undefined=_Missing, trim_blocks=True, lstrip_blocks=True)
    env.globals.clear()  # range, dict, lipsum, cycler...: nothing but the data
    env.filters.clear()
    env.filters.update(FILTERS)
    return env


_ENV: Final = _environment()


def check_template(source: str) -> list[str]:
    """Every problem of a template (empty when it is fine), without rendering it."""
    return list(_problems(source))


@functools.lru_cache(maxsize=4096)
def _problems(source: str) -> tuple[str, ...]:
    # Cached: a script set is validated again on every save and every load of the active scripts.
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return (f"template syntax error on line {exc.lineno}: {exc.message}",)
    problems: list[str] = []
    for node in ast.find_all(_FORBIDDEN_NODES):
        what = "function calls are" if isinstance(node, nodes.Call) else f"{{% {type(node).__name__.lower()} %}} is"
        problems.append(f"{what} not allowed in script templates")
    if any(True for _ in ast.find_all(nodes.Pow)):
        problems.append("the operator '**' is not allowed")
    for mul_node in ast.find_all(nodes.Mul):
        if any((isinstance(side, nodes.Const) and isinstance(side.value, str)) or isinstance(side, nodes.List)
               for side in (mul_node.left, mul_node.right)):
            problems.append("the operator '*' is only allowed on numbers")
    for getattr_node in ast.find_all(nodes.Getattr):
        if getattr_node.attr.startswith("_"):
            problems.append(f"the private name {getattr_node.attr!r} is refused")
    for getitem_node in ast.find_all(nodes.Getitem):
        key = getitem_node.arg
        if isinstance(key, nodes.Const) and isinstance(key.value, str) and key.value.startswith("_"):
            problems.append(f"the private name {key.value!r} is refused")
    for filter_node in ast.find_all(nodes.Filter):
        if filter_node.name not in FILTERS:
            problems.append(f"unknown filter {filter_node.name!r}; use one of {', '.join(sorted(FILTERS))}")
    if problems:
        return tuple(problems)  # the checks below compile the template, which these problems would break
    try:
        undeclared = meta.find_undeclared_variables(ast)
        _template(source)
    except TemplateError as exc:
        return (f"template error: {exc.message}",)
    unknown = sorted(undeclared - set(ROOTS))
    return tuple(f"unknown variable {name!r}; use one of {', '.join(ROOTS)}" for name in unknown)


@functools.lru_cache(maxsize=2048)
def _template(source: str) -> Template:
    return _ENV.from_string(source)


def render(source: str, data: Mapping[str, object]) -> str:
    """``source`` rendered with ``data`` (keys among :data:`ROOTS`; others are ignored)."""
    try:
        template = _template(source)
        return template.render({root: _wrap(data[root], root) for root in ROOTS if root in data})
    except SecurityError as exc:
        raise TemplateRefused(str(exc)) from exc
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise RenderError(f"template failed: {exc}") from exc
