"""Script texts as Jinja2 templates in a sandbox that sees only the data it is handed.

* Variables come from a few roots (:data:`ROOTS`); names and keys resolve only inside the mappings and
  lists passed in: no attribute of any Python object is reachable, private names (``_x``) are refused,
  and nothing can be called (filters from a short list are the only functions).
* A missing or empty value renders as a visible placeholder such as ``[customer.name]`` instead of
  failing, so the agent sees what the system does not know; ``{{ x | default('...') }}`` still works.
* :func:`check_template` finds every problem at load time (syntax, unknown roots or filters, calls,
  private names); :func:`render` enforces the same rules again when run.
* Every render spends a :class:`~cti.scripting.RenderBudget`: each template is instrumented when compiled
  (:class:`_Instrument`) so its loops, outputs, ``~`` and filters count their steps and characters as they run,
  and stop the render once a limit is passed. Nothing is computed at compile time that the budget would not
  see (Jinja folds constant expressions; the counting filters take the context, which stops it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from jinja2 import Template, TemplateError, TemplateSyntaxError, Undefined, meta, nodes, pass_context
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from cti.scripting._budget import RenderBudget
from cti.scripting._errors import RenderError, TemplateRefused

__all__ = ["FILTERS", "ROOTS", "check_template", "render"]

ROOTS: Final = ("agent", "billing", "call", "company", "customer", "offer", "promotion")
"""The variables a template may name: what the desktop knows about the call."""

_LOOP_FIELDS: Final = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length"})
_FORBIDDEN_NODES: Final = (nodes.Call, nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends, nodes.Macro,
                           nodes.CallBlock, nodes.FilterBlock)
_BUDGET: Final = "cti budget"
"""Where a render's budget sits in the template's context: not an identifier, so no template can name it."""


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


class _Absent(_Data):
    """A root the data has nothing for (an unknown caller's ``customer``) with neutral words for a few of its
    fields: ``{{ customer.name }}`` reads "the account holder", other fields stay placeholders, and the root
    itself is false in ``{% if customer %}``."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


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


def _budget(context: Context) -> RenderBudget:
    budget = context.get(_BUDGET)
    if not isinstance(budget, RenderBudget):
        raise SecurityError("script templates render only with a budget")
    return budget


def _size(value: object, cap: int) -> int:
    """How long ``str(value)`` is, at least, found without building it; counting stops once past ``cap``.

    Lists count their items' ``repr`` (quotes, escapes), so a list doubled by ``+`` costs what printing it would.
    """
    if isinstance(value, str):
        return len(value)
    total = 0
    todo = [value]
    while todo and total <= cap:
        item = todo.pop()
        if isinstance(item, str):
            total += len(item) + 2 if item.isprintable() else 10 * len(item) + 2
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            todo.extend(item.keys())
            todo.extend(item.values())
        elif isinstance(item, list | tuple):
            total += 2 + 2 * len(item)
            todo.extend(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        else:
            total += len(str(item)) if isinstance(item, Undefined) else 32
    return total


def _number(value: object) -> bool:
    return isinstance(value, int | float | Decimal | Undefined)


class _Sandbox(SandboxedEnvironment):
    # Every arithmetic operator goes through call_binop: counted, and never folded at compile time.
    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})

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
        # ``'x' * 10**9`` or ``('x',) * 10**9`` would exhaust memory, ``'%099999999d' % 1`` too; numbers still
        # multiply, but squaring one again and again is stopped by the budget.
        if operator == "**":
            raise SecurityError("the operator '**' is not allowed")
        if operator == "*" and not (_number(left) and _number(right)):
            raise SecurityError("the operator '*' is only allowed on numbers")
        if operator == "%" and not _number(left):
            raise SecurityError("the operator '%' is only allowed on numbers")
        budget = _budget(context)
        if operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            cap = budget.limits.characters
            budget.spend(characters=_size(left, cap) + _size(right, cap))
        result = super().call_binop(context, operator, left, right)
        budget.number(result)
        return result


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


def _counted(filter_: Callable[..., Any], *, environment: bool = False) -> Callable[..., Any]:
    """``filter_`` charging the text it makes to the render's budget (texts it passes through are paid for)."""

    @pass_context
    @functools.wraps(filter_, updated=())  # not Jinja's pass_* marks: this one takes the context
    def counted(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        result = filter_(context.environment, value, *args, **kwargs) if environment else \
            filter_(value, *args, **kwargs)
        if isinstance(result, str) and result is not value:
            _budget(context).spend(characters=len(result))
        return result

    return counted


@pass_context
def _join(context: Context, value: Any, d: Any = "", attribute: Any = None) -> str:
    """Jinja's ``join``, paid for before the text is built."""
    items = list(value)
    if attribute is not None:
        get = jinja_filters.make_attrgetter(context.environment, attribute)
        items = [get(item) for item in items]
    budget, separator = _budget(context), str(d)
    cap = budget.limits.characters
    budget.spend(characters=sum(_size(item, cap) for item in items) + len(separator) * max(0, len(items) - 1))
    return separator.join(str(item) for item in items)


@pass_context
def _replace(context: Context, value: Any, old: Any, new: Any, count: Any = None) -> str:
    """Jinja's ``replace``, paid for before the text is built: replacing again and again grows it fast."""
    text, old, new = str(value), str(old), str(new)
    limit = -1 if count is None else int(count)
    times = text.count(old) if old else len(text) + 1
    if limit >= 0:
        times = min(times, limit)
    _budget(context).spend(characters=len(text) + times * max(0, len(new) - len(old)))
    return text.replace(old, new, limit)


@pass_context
def _loop(context: Context, iterable: Iterable[Any], cost: int) -> Iterator[Any]:
    """A ``for`` loop's items, each turn paid for (``cost``: the steps of the loop's body) before it runs."""
    budget = _budget(context)
    for item in iterable:
        budget.spend(steps=cost)
        yield item


@pass_context
def _output(context: Context, value: Any) -> str:
    """What a template writes (its text, ``{{ }}``, into a ``{% set %}`` block too), paid for before."""
    budget = _budget(context)
    budget.spend(characters=_size(value, budget.limits.characters))
    return str(value)


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:
    """``a ~ b``, paid for before it is built."""
    budget = _budget(context)
    cap = budget.limits.characters
    budget.spend(characters=sum(_size(part, cap) for part in parts))
    return "".join(str(part) for part in parts)


FILTERS: Final[Mapping[str, Callable[..., Any]]] = {
    **{name: _counted(_tolerant(jinja_filters.FILTERS[name]))
       for name in ("upper", "lower", "title", "capitalize", "trim", "round", "int")},
    **{name: _counted(jinja_filters.FILTERS[name]) for name in ("default", "d", "length")},
    "truncate": _counted(jinja_filters.FILTERS["truncate"], environment=True),
    "join": _join,
    "replace": _replace,
    "money": _counted(_money),
}
"""The filters a template may use, each counted."""
_COUNTING: Final = {"cti_loop": _loop, "cti_output": _output, "cti_concat": _concat}
"""The instrumentation's own filters; no template may name them (they are not in :data:`FILTERS`)."""


def _weight(node: nodes.Node) -> int:
    """The steps a node costs each time it runs: itself and every node under it."""
    return 1 + sum(1 for _ in node.find_all(nodes.Node))


def _counting(node: nodes.Node, name: str, *args: nodes.Expr) -> nodes.Filter:
    return nodes.Filter(node, name, list(args), [], None, None, lineno=node.lineno)


class _Instrument(NodeTransformer):
    """Makes a template pay as it runs: its loops by the turn, its outputs and ``~`` by the character."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        cost = 1 + sum(_weight(child) for child in node.body) + (_weight(node.test) if node.test else 0)
        self.generic_visit(node)
        node.iter = _counting(node.iter, "cti_loop", nodes.Const(cost))
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        self.generic_visit(node)
        node.nodes = [_counting(child, "cti_output") for child in node.nodes]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _counting(nodes.List(node.nodes, lineno=node.lineno), "cti_concat")


def _environment() -> _Sandbox:
    env = _Sandbox(autoescape=False, undefined=_Missing, trim_blocks=True, lstrip_blocks=True)
    env.globals.clear()  # range, dict, lipsum, cycler...: nothing but the data
    env.filters.clear()
    env.filters.update(FILTERS)
    env.filters.update(_COUNTING)
    return env


_ENV: Final = _environment()


def check_template(source: str) -> list[str]:
    """Every problem of a template (empty when it is fine), without rendering it."""
    return list(_problems(source))


@functools.lru_cache(maxsize=4096)
def _problems(source: str) -> tuple[str, ...]:
    # Cached: a script set is validated again on every save and every load of the active scripts.
    try:
        return _find_problems(source)
    except RecursionError:  # ((((((...)))))): the parser and the compiler recurse
        return ("the template is nested too deeply",)


def _find_problems(source: str) -> tuple[str, ...]:
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
        if any((isinstance(side, nodes.Const) and isinstance(side.value, str))
               or isinstance(side, nodes.List | nodes.Tuple | nodes.Dict)
               for side in (mul_node.left, mul_node.right)):
            problems.append("the operator '*' is only allowed on numbers")
    for mod_node in ast.find_all(nodes.Mod):
        if isinstance(mod_node.left, nodes.Const) and isinstance(mod_node.left.value, str):
            problems.append("the operator '%' is only allowed on numbers")
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
        _compiled(source)
    except TemplateError as exc:
        return (f"template error: {exc.message}",)
    unknown = sorted(undeclared - set(ROOTS))
    return tuple(f"unknown variable {name!r}; use one of {', '.join(ROOTS)}" for name in unknown)


@dataclass(frozen=True, slots=True)
class _Compiled:
    template: Template
    steps: int
    """What running the template once costs, its loops' turns aside."""


@functools.lru_cache(maxsize=2048)
def _compiled(source: str) -> _Compiled:
    ast = _ENV.parse(source)
    steps = _weight(ast)
    instrumented = _Instrument().visit(ast)
    instrumented.set_environment(_ENV)
    return _Compiled(_ENV.from_string(instrumented), steps)


def render(source: str, data: Mapping[str, object], budget: RenderBudget | None = None, *,
           absent: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """``source`` rendered with ``data`` (keys among :data:`ROOTS`; others are ignored).

    A root that is missing or ``None`` renders its fields as placeholders named after it (``[customer.name]``),
    unless ``absent`` gives neutral words for some of them (``{"customer": {"name": "the account holder"}}``).
    Spends ``budget`` (by default a fresh one with the default limits): a render that would pass a limit stops
    with :class:`~cti.scripting.RenderBudgetExceeded`.
    """
    budget = budget if budget is not None else RenderBudget()
    try:
        compiled = _compiled(source)
        budget.spend(steps=compiled.steps)
        variables: dict[str, object] = {root: _wrap(data[root], root) for root in ROOTS
                                        if data.get(root) is not None}
        for root, words in (absent or {}).items():
            if root in ROOTS and root not in variables:
                variables[root] = _Absent(root, dict(words))
        return compiled.template.render({**variables, _BUDGET: budget})
    except RenderError:
        raise
    except SecurityError as exc:
        raise TemplateRefused(str(exc)) from exc
    except RecursionError as exc:
        raise RenderError("template failed: it is nested too deeply") from exc
    except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
        raise RenderError(f"template failed: {exc}") from exc
