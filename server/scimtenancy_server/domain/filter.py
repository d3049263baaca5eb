"""SCIM filter expressions (RFC 7644 §3.4.2.2): a parser into a small typed AST.

Parsing costs time linear in the text and is bounded by `InputLimits`: the filter's length,
its attribute expressions, its nesting (parentheses, `not (`, `[`) and its attribute paths.
`and` / `or` chains are built as balanced trees, so the tree's depth grows with the log of
the number of terms and every walk over it stays far from Python's recursion limit.

Beyond the RFC grammar it reads Entra ID's dotted value path, `emails[type eq "work"].value eq
"x"` (its uniqueness check on a mapped email), as `emails[type eq "work" and value eq "x"]`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from scimtenancy_server.domain.errors import ScimError
from scimtenancy_server.domain.limits import DEFAULT_LIMITS, INT64_MAX, INT64_MIN, InputLimits

Scalar = str | int | float | bool | None

COMPARISON_OPERATORS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`[schema:]attribute[.sub]`; `schema` is None for the core schema."""

    schema: str | None
    attribute: str
    sub: str | None = None


@dataclass(frozen=True, slots=True)
class Compare:
    path: AttrPath
    op: str
    value: Scalar


@dataclass(frozen=True, slots=True)
class Present:
    path: AttrPath


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    inner: Filter


@dataclass(frozen=True, slots=True)
class ValuePath:
    """`attribute[filter]`: some value of a multi-valued attribute matches `filter`."""

    path: AttrPath
    filter: Filter


Filter = Compare | Present | And | Or | Not | ValuePath

_TOKEN = re.compile(
    r"""(?P<sub>\.[A-Za-z$][\w$-]*)  # `].value`: no space before the dot
    | \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<punct>[()\[\]])
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w:.]))
    | (?P<word>[A-Za-z$][\w:.$-]*)
    )""",
    re.VERBOSE,
)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise ScimError.invalid_filter(f"unexpected character at offset {position}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


def _excerpt(text: str) -> str:
    """A client's text as a detail may quote it: short."""
    return repr(text) if len(text) <= 40 else repr(text[:40]) + "…"


def parse_attr_path(text: str, limits: InputLimits = DEFAULT_LIMITS) -> AttrPath:
    """Parses `[urn:...:]attribute[.sub]`; the schema URN keeps its dots (`2.0`)."""
    if len(text) > limits.max_path_length:
        raise ScimError.invalid_filter(
            f"attribute path {_excerpt(text)} is longer than "
            f"max_path_length={limits.max_path_length} characters"
        )
    schema: str | None = None
    rest = text
    if text.lower().startswith("urn:"):
        schema, _, rest = text.rpartition(":")
        if not rest:
            raise ScimError.invalid_filter(f"attribute path {text!r} names no attribute")
    attribute, _, sub = rest.partition(".")
    if not attribute or "." in sub or (sub == "" and rest.endswith(".")):
        raise ScimError.invalid_filter(f"invalid attribute path {text!r}")
    return AttrPath(schema, attribute, sub or None)


def any_of(operands: list[Filter]) -> Filter:
    """`a or b or c ...`, balanced like a parsed filter; `operands` must not be empty."""
    return _balanced(Or, operands)


def _balanced(node: Callable[[Filter, Filter], Filter], operands: list[Filter]) -> Filter:
    """`a op b op c ...` as a tree of depth log2(n); evaluation order stays left to right."""
    if len(operands) == 1:
        return operands[0]
    middle = len(operands) // 2
    return node(_balanced(node, operands[:middle]), _balanced(node, operands[middle:]))


def _number(text: str) -> int | float:
    """A JSON number that fits a 64-bit integer or a finite double (BSON's int64, double)."""
    if any(c in text for c in ".eE"):
        value = float(text)
        if math.isfinite(value):
            return value
    else:
        digits = text.lstrip("-").lstrip("0") or "0"
        # Past 19 digits no int64 is left; int() of a long digit string costs quadratic time.
        whole = int(digits) * (-1 if text.startswith("-") else 1) if len(digits) <= 19 else None
        if whole is not None and INT64_MIN <= whole <= INT64_MAX:
            return whole
    raise ScimError.invalid_filter(
        f"number {_excerpt(text)} is out of range: integers must fit in 64 bits, "
        "decimals must be finite doubles"
    )


def _string(text: str) -> str:
    try:
        decoded: str = json.loads(text)
    except ValueError:
        raise ScimError.invalid_filter(f"invalid string {_excerpt(text)}") from None
    try:
        decoded.encode("utf-8")
    except UnicodeEncodeError:
        # `"\ud800"`: a lone surrogate is no character, and no stored value can hold one.
        raise ScimError.invalid_filter(f"string {_excerpt(text)} is not valid Unicode") from None
    return decoded


class _Parser:
    def __init__(self, text: str, limits: InputLimits) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.limits = limits
        self.depth = 0
        self.terms = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, expected: str) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ScimError.invalid_filter(f"filter ends early: expected {expected}")
        self.index += 1
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.index += 1
            return token[1].lower()
        return None

    def punct(self, symbol: str) -> bool:
        if self.peek() == ("punct", symbol):
            self.index += 1
            return True
        return False

    def expect(self, symbol: str) -> None:
        if not self.punct(symbol):
            raise ScimError.invalid_filter(f"expected {symbol!r} in filter")

    def parse(self) -> Filter:
        result = self.or_expression()
        leftover = self.peek()
        if leftover is not None:
            raise ScimError.invalid_filter(f"unexpected {_excerpt(leftover[1])} in filter")
        return result

    def nested(self, closing: str) -> Filter:
        """The filter inside `(...)`, `not (...)` or `[...]`, within max_filter_depth."""
        self.depth += 1
        if self.depth > self.limits.max_filter_depth:
            raise ScimError.invalid_filter(
                f"filter nests deeper than max_filter_depth={self.limits.max_filter_depth}"
            )
        inner = self.or_expression()
        self.expect(closing)
        self.depth -= 1
        return inner

    def or_expression(self) -> Filter:
        operands = [self.and_expression()]
        while self.keyword("or"):
            operands.append(self.and_expression())
        return _balanced(Or, operands)

    def and_expression(self) -> Filter:
        operands = [self.unary()]
        while self.keyword("and"):
            operands.append(self.unary())
        return _balanced(And, operands)

    def unary(self) -> Filter:
        if self.keyword("not"):
            self.expect("(")
            return Not(self.nested(")"))
        if self.punct("("):
            return self.nested(")")
        return self.attribute_expression()

    def attribute_expression(self) -> Filter:
        kind, text = self.next("an attribute path")
        if kind != "word":
            raise ScimError.invalid_filter(f"expected an attribute path, found {_excerpt(text)}")
        path = parse_attr_path(text, self.limits)
        if self.punct("["):
            return self.value_path(path)
        return self.comparison(path)

    def value_path(self, path: AttrPath) -> ValuePath:
        """`attribute[filter]`, or Entra ID's `attribute[filter].sub op value` (not RFC 7644
        grammar) as `attribute[(filter) and sub op value]`."""
        value_filter = self.nested("]")
        token = self.peek()
        if token is not None and token[0] == "sub":
            self.index += 1
            sub = parse_attr_path(token[1][1:], self.limits)
            value_filter = And(value_filter, self.comparison(sub))
        return ValuePath(path, value_filter)

    def comparison(self, path: AttrPath) -> Compare | Present:
        """`path pr` or `path op value`: one attribute expression, counted."""
        self.terms += 1
        if self.terms > self.limits.max_filter_terms:
            raise ScimError.invalid_filter(
                "filter has more attribute expressions than "
                f"max_filter_terms={self.limits.max_filter_terms}"
            )
        operator = self.next("an operator")[1].lower()
        if operator == "pr":
            return Present(path)
        if operator not in COMPARISON_OPERATORS:
            raise ScimError.invalid_filter(f"unknown operator {_excerpt(operator)}")
        return Compare(path, operator, self.value())

    def value(self) -> Scalar:
        kind, text = self.next("a value")
        if kind == "string":
            return _string(text)
        if kind == "number":
            return _number(text)
        literals: dict[str, Scalar] = {"true": True, "false": False, "null": None}
        if kind == "word" and text.lower() in literals:
            return literals[text.lower()]
        raise ScimError.invalid_filter(f"expected a value, found {_excerpt(text)}")


def parse_filter(text: str, limits: InputLimits = DEFAULT_LIMITS) -> Filter:
    if len(text) > limits.max_filter_length:
        raise ScimError.invalid_filter(
            f"filter is longer than max_filter_length={limits.max_filter_length} characters"
        )
    if not text.strip():
        raise ScimError.invalid_filter("filter is empty")
    return _Parser(text, limits).parse()


def run_operands(expression: And | Or) -> list[Filter]:
    """The operands of a run of one logical operator, left to right: `(a or b) or c` and
    `a or (b or c)` both give [a, b, c]."""
    kind = type(expression)
    operands: list[Filter] = []
    pending: list[Filter] = [expression]
    while pending:
        node = pending.pop()
        if isinstance(node, kind):
            pending += (node.right, node.left)
        else:
            operands.append(node)
    return operands


def has_value_path(expression: Filter) -> bool:
    if isinstance(expression, And | Or):
        return has_value_path(expression.left) or has_value_path(expression.right)
    if isinstance(expression, Not):
        return has_value_path(expression.inner)
    return isinstance(expression, ValuePath)


def relax(expression: Filter) -> Filter | None:
    """The filter without its value filters, as a superset; None means "no constraint"."""
    if isinstance(expression, ValuePath):
        return None
    if isinstance(expression, Not):
        return None if has_value_path(expression.inner) else expression
    if isinstance(expression, And):
        left, right = relax(expression.left), relax(expression.right)
        if left is None or right is None:
            return left or right
        return And(left, right)
    if isinstance(expression, Or):
        left, right = relax(expression.left), relax(expression.right)
        return None if left is None or right is None else Or(left, right)
    return expression
