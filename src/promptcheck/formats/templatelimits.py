"""How much a template may build while it renders.

Jinja2's sandbox stops templates from reaching Python internals, but not from asking for memory:
``{{ x * 3000000000 }}`` built 6 GB before the process died. Here every place a template can make
a big value is bounded, before the value is built where its size can be known in advance:

* the operators ``*``, ``**``, ``+`` and ``%`` (``intercepted_binops``), and ``~``
  (``visit_Concat`` of the code generator below);
* every call (``call``: string methods, macros, ``lipsum``, ...) and every filter (wrapped);
* ``str.format`` and the ``format`` filter, whose widths can be huge;
* joining a block's or the whole output's pieces (``concat``), which jinja does in one place.

No one value may exceed ``MAX_SIZE`` characters (or list items), and one render may build at
most ``MAX_TOTAL`` in all, which bounds what many medium values add up to. ``range`` is bounded
by the sandbox itself (100,000 items). A violation raises ``TemplateLimitError``."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter

# A prompt of 10 million characters is some 2.5 million tokens: beyond every model's context.
MAX_SIZE = 10_000_000
MAX_TOTAL = 10 * MAX_SIZE  # everything one render builds, intermediate values included
MAX_INT_BITS = 65_536  # a number a template computes (about 20,000 digits)

# Widths and precisions of printf-style (``%10s``) and format-style (``{:>10}``) specs.
_PRINTF_SIZES = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\d*)(?:\.(\d*))?")
_NUMBERS = re.compile(r"\d+")


class TemplateLimitError(Exception):
    """The template tried to build more than it may; the message says what and the limit."""


_budget = threading.local()  # what the current render may still build


@contextmanager
def render_budget() -> Iterator[None]:
    previous = getattr(_budget, "left", None)
    _budget.left = MAX_TOTAL
    try:
        yield
    finally:
        _budget.left = previous


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, (str, list, tuple, dict, set, frozenset, bytes)) else None


def _refuse(size: int, value_kind: str) -> TemplateLimitError:
    unit = "characters" if value_kind == "string" else "items"
    return TemplateLimitError(f"template tried to build a {value_kind} of {size:,} {unit}; the limit is {MAX_SIZE:,}")


def _allow(size: int, value_kind: str = "string") -> None:
    """Refuse a value of ``size`` before it is built, and charge it to the render's budget."""
    if size > MAX_SIZE:
        raise _refuse(size, value_kind)
    left = getattr(_budget, "left", None)
    if left is not None:
        if size > left:
            raise TemplateLimitError(
                f"template built {MAX_TOTAL - left + size:,} characters and list items in all while rendering; "
                f"the limit is {MAX_TOTAL:,}"
            )
        _budget.left = left - size


def _kind(value: Any) -> str:
    return "string" if isinstance(value, (str, bytes)) else "list"


def checked(value: Any) -> Any:
    """``value``, once it is known to be within the limits (for what could not be sized before)."""
    size = _size(value)
    if size is not None:
        _allow(size, _kind(value))
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > MAX_INT_BITS:
        raise TemplateLimitError(f"template computed a number of {value.bit_length():,} bits; the limit is {MAX_INT_BITS:,}")
    return value


def _check_widths(text: str) -> None:
    for width, precision in _PRINTF_SIZES.findall(text):
        for number in (width, precision):
            if number and int(number) > MAX_SIZE:
                _allow(int(number))


def _check_join(items: Any, separator: Any = "") -> None:
    # Only what can be sized without consuming it: an iterator's pieces are bounded one by one.
    if isinstance(items, (list, tuple)) and isinstance(separator, str):
        pieces = sum(len(x) if isinstance(x, str) else len(str(x)) for x in items)
        _allow(pieces + len(separator) * max(0, len(items) - 1))


def _check_sum(items: Any, attribute: Any = None, start: Any = 0) -> None:
    if isinstance(items, (list, tuple)) and attribute is None and _size(start) is not None:
        _allow(len(start) + sum(_size(x) or 0 for x in items), _kind(start))


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str) and len(new) > len(old):
        found = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        _allow(len(text) + found * (len(new) - len(old)))


def _check_width(text: Any, width: Any = 0, *rest: Any, **options: Any) -> None:
    if isinstance(width, int) and width > MAX_SIZE:
        _allow(width)


def _check_indent(text: Any, width: Any = 4, *rest: Any, **options: Any) -> None:
    if isinstance(text, str) and isinstance(width, (str, int)):
        prefix = width if isinstance(width, str) else max(0, width)
        _allow(len(text) + (text.count("\n") + 1) * (len(prefix) if isinstance(prefix, str) else prefix))


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            size = _size(seq)
            if size is not None and isinstance(times, int):
                _allow(size * times, _kind(seq))
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise TemplateLimitError(f"template tried to compute a number of over {MAX_INT_BITS:,} bits; the limit is {MAX_INT_BITS:,}")
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        if right * left.bit_length() > MAX_INT_BITS:
            raise TemplateLimitError(f"template tried to compute a number of about {right * left.bit_length():,} bits; the limit is {MAX_INT_BITS:,}")
    elif operator == "+" and _size(left) is not None and _size(right) is not None:
        _allow(len(left) + len(right), _kind(left))
    elif operator == "%" and isinstance(left, str):
        _check_widths(left)


# Filters (and str methods) that can make a value much larger than their input, and how big.
_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _check_width,
    "indent": _check_indent,
    "join": lambda items, d="", *rest, **kw: _check_join(items, d),
    "replace": _check_replace,
    "sum": _check_sum,
    "format": lambda text, *args, **kwargs: _check_widths(text) if isinstance(text, str) else None,
    "tojson": lambda value, indent=None: _check_width(None, indent),
}
_STR_METHOD_CHECKS: dict[str, Callable[..., None]] = {
    "center": _check_width, "ljust": _check_width, "rjust": _check_width, "zfill": _check_width,
    "expandtabs": lambda text, tabsize=8: _allow(len(text) + text.count("\t") * max(0, tabsize)) if isinstance(tabsize, int) else None,
    "join": lambda separator, items: _check_join(items, separator),
    "replace": _check_replace,
}


def bounded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    pre = _FILTER_CHECKS.get(name)

    @wraps(function)  # keeps jinja's pass_context/pass_environment marks
    def bounded(*args: Any, **kwargs: Any) -> Any:
        if pre is not None:
            # jinja passes the context or environment first to filters marked so; the value follows.
            values = args[1:] if getattr(function, "jinja_pass_arg", None) is not None else args
            pre(*values, **kwargs)
        return checked(function(*args, **kwargs))

    return bounded


def _bounded_lipsum(lipsum: Callable[..., str]) -> Callable[..., str]:
    def bounded(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002 (jinja's names)
        if isinstance(n, int) and isinstance(max, int):
            _allow(n * max * 20)  # n paragraphs of up to ``max`` words, each well under 20 characters
        return lipsum(n, html, min, max)

    return bounded


class _BoundedFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        for number in _NUMBERS.findall(format_spec):
            if int(number) > MAX_SIZE:
                _allow(int(number))
        return checked(super().format_field(value, format_spec))


class _BoundedCodeGenerator(CodeGenerator):
    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        # ``a ~ b`` calls str_join, which no sandbox hook sees; route it through the environment.
        self.write("environment.join_values((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with the limits above."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _BoundedCodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: bounded_filter(name, f) for name, f in self.filters.items()}
        self.globals["lipsum"] = _bounded_lipsum(self.globals["lipsum"])  # type: ignore[arg-type]

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        return checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (jinja's own signature)
        owner = getattr(__obj, "__self__", None)
        pre = _STR_METHOD_CHECKS.get(getattr(__obj, "__name__", "")) if isinstance(owner, str) else None
        if pre is not None:
            pre(owner, *args, **kwargs)
        return checked(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``"{:>9999999999}".format(x)``: jinja's own wrapper, with a formatter that checks each
        field's width once it is known (``{:{w}}`` takes it from an argument)."""
        if super().wrap_str_format(value) is None:
            return None
        formatter = _BoundedFormatter(self)
        text: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if not is_format_map:
                return str(checked(formatter.vformat(text, args, kwargs)))
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one mapping")
            return str(checked(formatter.vformat(text, (), args[0])))

        return bounded_format

    def concat(self, pieces: Iterable[str]) -> str:  # type: ignore[override]  # jinja: "".join
        """Every block's and the whole output's pieces: counted as they come, so a loop that
        prints too much stops when it crosses the limit, not after building it all."""
        collected: list[str] = []
        total = 0
        for piece in pieces:
            total += len(piece)
            if total > MAX_SIZE:
                raise TemplateLimitError(f"template output grew past {MAX_SIZE:,} characters, the limit")
            collected.append(piece)
        _allow(total)
        return "".join(collected)

    def join_values(self, values: tuple[Any, ...]) -> str:
        texts = [str(v) for v in values]
        _allow(sum(map(len, texts)))
        return "".join(texts)

