"""SCIM filter expressions (RFC 7644 §3.4.2.2): a parser into a small typed AST."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from scimtenancy_server.domain.errors import ScimError

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
    r"""\s*(?:
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


def parse_attr_path(text: str) -> AttrPath:
    """Parses `[urn:...:]attribute[.sub]`; the schema URN keeps its dots (`2.0`)."""
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


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

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
            raise ScimError.invalid_filter(f"unexpected {leftover[1]!r} in filter")
        return result

    def or_expression(self) -> Filter:
        left = self.and_expression()
        while self.keyword("or"):
            left = Or(left, self.and_expression())
        return left

    def and_expression(self) -> Filter:
        left = self.unary()
        while self.keyword("and"):
            left = And(left, self.unary())
        return left

    def unary(self) -> Filter:
        if self.keyword("not"):
            self.expect("(")
            inner = self.or_expression()
            self.expect(")")
            return Not(inner)
        if self.punct("("):
            inner = self.or_expression()
            self.expect(")")
            return inner
        return self.attribute_expression()

    def attribute_expression(self) -> Filter:
        kind, text = self.next("an attribute path")
        if kind != "word":
            raise ScimError.invalid_filter(f"expected an attribute path, found {text!r}")
        path = parse_attr_path(text)
        if self.punct("["):
            inner = self.or_expression()
            self.expect("]")
            return ValuePath(path, inner)
        operator = self.next("an operator")[1].lower()
        if operator == "pr":
            return Present(path)
        if operator not in COMPARISON_OPERATORS:
            raise ScimError.invalid_filter(f"unknown operator {operator!r}")
        return Compare(path, operator, self.value())

    def value(self) -> Scalar:
        kind, text = self.next("a value")
        if kind == "string":
            try:
                decoded: str = json.loads(text)
            except ValueError:
                raise ScimError.invalid_filter(f"invalid string {text}") from None
            return decoded
        if kind == "number":
            return float(text) if any(c in text for c in ".eE") else int(text)
        literals: dict[str, Scalar] = {"true": True, "false": False, "null": None}
        if kind == "word" and text.lower() in literals:
            return literals[text.lower()]
        raise ScimError.invalid_filter(f"expected a value, found {text!r}")


def parse_filter(text: str) -> Filter:
    if not text.strip():
        raise ScimError.invalid_filter("filter is empty")
    if len(text) > 4096:
        raise ScimError.invalid_filter("filter is longer than 4096 characters")
    return _Parser(text).parse()


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
