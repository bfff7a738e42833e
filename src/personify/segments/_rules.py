"""The audience rule language: conditions over profile attributes, compiled to SQL.

A rule such as ``clv > 500 and preferred_channel == "app" and churn_risk < 0.3`` is
tokenised and parsed by the expression parser of ``expr:`` (ingest/expressions.py: same
literals, names, operators, positions and depth limits), extended here with ``in``,
``between`` and ``is [not] null``, and compiled by a typed compiler of its own: profile
columns are typed (numbers, text, true/false, dates), where ``expr:`` columns are text.

What keeps it safe (tests/segments/test_rules.py tries to break each):

- nothing is evaluated as Python; the parser builds a tree, the compiler walks it;
- a name reaches SQL only as a column the profile table really has, double-quoted;
- every value (text, number, date) is a bound parameter (``?``), never part of the SQL;
- functions are a fixed list, each compiled to SQL written here.

Missing values: a comparison with a missing value is false (``churn_risk < 0.3`` leaves
out persons without a churn risk, and so does ``churn_risk >= 0.3``); ``not`` turns false
into true, so ``not (churn_risk < 0.3)`` includes them. Ask for them with ``is null``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from personify.errors import PersonifyError
from personify.ingest._csv import quote_ident
from personify.ingest.expressions import (
    COMPARISONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Binary,
    Call,
    Col,
    ExpressionError,
    Lit,
    Node,
    Parser,
    Token,
    Unary,
    _caret,
    _quoted,
    _suggest,
)

Type = Literal["number", "text", "boolean", "date", "timestamp", "null"]
# The words the rule language adds to expr:'s (and, or, not, true, false, null).
RULE_KEYWORDS = {"in", "between", "is"}
MAX_LIST = 1000  # values in one in-list


class RuleError(PersonifyError, ValueError):
    """A rule cannot be compiled: what is wrong, at which character (1-based), with a caret.

    ``problem`` is the one-line form; :meth:`as_dict` is what the web app shows."""

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position
        self.reason = reason
        self.problem = f"rule {_quoted(text)} at {position}: {reason}"
        super().__init__(f"{self.problem}\n{_caret(text, position)}")

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.text, "position": self.position, "reason": self.reason}


@dataclass(frozen=True)
class Attribute:
    """A profile column a rule may read."""

    name: str  # the column (a declared attribute is also reached by its declared name)
    type: Type | Literal["other"]
    sql_type: str  # as the engine names it (DuckDB's names)
    label: str = ""


def attribute_type(sql_type: str) -> Type | Literal["other"]:
    t = sql_type.upper()
    if t.endswith("]") or t.startswith(("STRUCT", "MAP", "LIST")):
        return "other"
    if t in ("VARCHAR", "TEXT", "STRING") or t.startswith("VARCHAR"):
        return "text"
    if t == "BOOLEAN":
        return "boolean"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "REAL", "DOUBLE")
    if t.startswith(("DECIMAL", "NUMERIC", "U")) or t in numeric:
        return "number"
    return "other"


# Syntax tree: what the rule language adds -------------------------------------------------
@dataclass(frozen=True)
class In(Node):
    operand: Node
    items: tuple[Lit, ...]
    negated: bool


@dataclass(frozen=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True)
class IsNull(Node):
    operand: Node
    negated: bool


class RuleParser(Parser):
    """expr:'s recursive-descent parser with the comparisons of a rule."""

    def __init__(self, text: str) -> None:
        try:
            super().__init__(text)
        except ExpressionError as exc:  # raised by the tokeniser
            raise RuleError(text, exc.position, exc.reason) from None

    def error(self, pos: int, reason: str) -> RuleError:  # type: ignore[override]
        return RuleError(self.text, pos, reason)

    def parse(self) -> Node:
        if len(self.text) > MAX_LENGTH:
            raise self.error(MAX_LENGTH + 1, f"longer than {MAX_LENGTH} characters")
        if not self.text.strip():
            raise self.error(1, "empty rule")
        node = self.expression()
        if self.at(")"):
            raise self.error(self.tok.pos, "unexpected ')': no '(' is open")
        if self.tok.kind != "end":
            raise self.error(
                self.tok.pos,
                f"{self.describe()} after a whole condition: join conditions with and / or",
            )
        return node

    def _peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def _word(self, token: Token, *words: str) -> bool:
        return token.kind == "name" and token.value.lower() in words

    def comparison(self) -> Node:
        if self.at("not"):
            op = self.take()
            self.nest(op.pos)
            operand = self.comparison()
            self.nesting -= 1
            return Unary(op.pos, "not", operand, depth=self.tree(op.pos, (operand,)))
        left = self.binary_level(3)
        negated = False
        start = self.tok
        if self.at("not") and self._word(self._peek(), "in", "between"):
            self.take()
            negated = True
        if self.at("in"):
            return self._in_list(left, start, negated)
        if self.at("between"):
            self.take()
            low = self.binary_level(3)
            self.expect("and", f"between the bounds of the 'between' at {start.pos}")
            high = self.binary_level(3)
            depth = self.tree(start.pos, (left, low, high))
            return Between(start.pos, left, low, high, negated, depth=depth)
        if self.at("is"):
            self.take()
            negated = bool(self.at("not") and self.take())
            if not self.at("null"):
                raise self.error(self.tok.pos, f"expected null after 'is', found {self.describe()}")
            self.take()
            return IsNull(start.pos, left, negated, depth=self.tree(start.pos, (left,)))
        if self.at(*COMPARISONS):
            op = self.take()
            right = self.binary_level(3)
            if self.at(*COMPARISONS):
                raise self.error(
                    self.tok.pos, "comparisons do not chain: write (a < b) and (b < c)"
                )
            return Binary(op.pos, op.value, left, right, depth=self.tree(op.pos, (left, right)))
        return left

    def _in_list(self, left: Node, start: Token, negated: bool) -> Node:
        self.take()
        self.expect("(", 'to open the list after \'in\' (write x in ("a", "b"))')
        items: list[Lit] = []
        while True:
            items.append(self._list_value())
            if len(items) > MAX_LIST:
                raise self.error(self.tok.pos, f"more than {MAX_LIST} values in one list")
            if not self.at(","):
                break
            self.take()
        self.expect(")", f"to close the list of the 'in' at {start.pos}")
        return In(start.pos, left, tuple(items), negated, depth=self.tree(start.pos, (left,)))

    def _list_value(self) -> Lit:
        t = self.tok
        sign = 1.0
        if self.at("-"):
            self.take()
            sign, t = -1.0, self.tok
        if t.kind == "number":
            self.take()
            return Lit(t.pos, sign * float(t.value))
        if t.kind == "string" and sign > 0:
            self.take()
            return Lit(t.pos, t.value)
        if self._word(t, "true", "false") and sign > 0:
            self.take()
            return Lit(t.pos, t.value.lower() == "true")
        raise self.error(t.pos, f"a list holds values (text or numbers), found {self.describe(t)}")

    def primary(self) -> Node:
        t = self.tok
        if self._word(t, *RULE_KEYWORDS):
            raise self.error(t.pos, f"expected a value, found '{t.value}'")
        return super().primary()

    def functions(self) -> Mapping[str, Any]:
        return FUNCTIONS

    def arity_error(self, fn: Any, lower: str, n: int) -> str:
        count = (
            f"{fn.min_args}" if fn.min_args == fn.max_args else f"{fn.min_args} to {fn.max_args}"
        )
        return f"{lower}() takes {count} argument(s), got {n}: {fn.signature}"


# Typed compilation ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Sql:
    sql: str
    type: Type
    params: tuple[Any, ...] = ()
    condition: bool = False  # a true/false test (never null), not a boolean column's value


@dataclass(frozen=True)
class CompiledRule:
    """A rule as a SQL condition over the ``profiles`` columns, with its bound values.

    ``sql`` holds a ``?`` per value of ``params``, in order: pass both to the engine."""

    rule: str
    sql: str
    params: tuple[Any, ...]
    attributes: tuple[str, ...] = field(default=())  # the columns it reads, in order


@dataclass(frozen=True)
class Function:
    min_args: int
    max_args: int
    signature: str
    compile: Callable[[RuleCompiler, Call, list[Sql]], Sql]


TYPE_WORDS = {
    "number": "a number",
    "text": "text",
    "boolean": "true/false",
    "date": "a date",
    "timestamp": "a date and time",
    "null": "null",
}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?")


class RuleCompiler:
    def __init__(self, text: str, attributes: Mapping[str, Attribute]) -> None:
        self.text = text
        self.attributes = attributes
        self.read: list[str] = []
        by_lower: dict[str, list[str]] = {}
        for name in attributes:
            by_lower.setdefault(name.lower(), []).append(name)
        self._by_lower = by_lower

    def error(self, node: Node, reason: str) -> RuleError:
        return RuleError(self.text, node.pos, reason)

    def rule(self, node: Node) -> CompiledRule:
        compiled = self.compile(node)
        cond = self.as_condition(node, compiled)
        return CompiledRule(self.text, cond.sql, cond.params, tuple(self.read))

    # -- nodes ------------------------------------------------------------------------------
    def compile(self, node: Node) -> Sql:
        if isinstance(node, Lit):
            return self.literal(node)
        if isinstance(node, Col):
            return self.column(node)
        if isinstance(node, Call):
            return FUNCTIONS[node.name].compile(self, node, [self.compile(a) for a in node.args])
        if isinstance(node, Unary):
            operand = self.compile(node.operand)
            if node.op == "-":
                self.expect(node.operand, operand, "number", "- applies to numbers")
                return Sql(f"(- {operand.sql})", "number", operand.params)
            c = self.as_condition(node.operand, operand)
            return Sql(f"(NOT {c.sql})", "boolean", c.params, condition=True)
        if isinstance(node, In):
            return self.in_list(node)
        if isinstance(node, Between):
            return self.between(node)
        if isinstance(node, IsNull):
            operand = self.compile(node.operand)
            test = "IS NOT NULL" if node.negated else "IS NULL"
            return Sql(f"({operand.sql} {test})", "boolean", operand.params, condition=True)
        assert isinstance(node, Binary)
        return self.binary(node)

    def literal(self, node: Lit) -> Sql:
        v = node.value
        if v is None:
            return Sql("NULL", "null")
        if isinstance(v, bool):
            return Sql("TRUE" if v else "FALSE", "boolean")
        if isinstance(v, float):
            return Sql("CAST(? AS DOUBLE)", "number", (v,))
        return Sql("CAST(? AS VARCHAR)", "text", (v,))

    def column(self, node: Col) -> Sql:
        name = node.name
        if name not in self.attributes:
            same = self._by_lower.get(name.lower(), [])
            if len(same) != 1:
                raise self.error(node, f"unknown attribute '{name}'{self._hint(name)}")
            name = same[0]
        attr = self.attributes[name]
        if attr.type == "other":
            raise self.error(
                node, f"'{name}' is a {attr.sql_type} attribute, which rules cannot read"
            )
        if attr.name not in self.read:
            self.read.append(attr.name)
        return Sql(quote_ident(attr.name), attr.type)

    def _hint(self, name: str) -> str:
        close = _suggest(name, self.attributes) or _suggest(name.lower(), self._by_lower)
        return close or " (personify audiences attributes lists them)"

    def binary(self, node: Binary) -> Sql:
        op = node.op
        left, right = self.compile(node.left), self.compile(node.right)
        if op in ("and", "or"):
            a, b = self.as_condition(node.left, left), self.as_condition(node.right, right)
            return Sql(
                f"({a.sql} {op.upper()} {b.sql})", "boolean", a.params + b.params, condition=True
            )
        if op in ("+", "-", "*", "/"):
            self.expect(node.left, left, "number", f"{op} applies to numbers")
            self.expect(node.right, right, "number", f"{op} applies to numbers")
            b_sql = f"NULLIF({right.sql}, 0)" if op == "/" else right.sql
            return Sql(f"({left.sql} {op} {b_sql})", "number", left.params + right.params)
        if op == "||":
            raise self.error(node, "|| (joining text) is not part of the rule language")
        return self.comparison(node, left, right)

    def comparison(self, node: Binary, left: Sql, right: Sql) -> Sql:
        op = node.op
        if "null" in (left.type, right.type):
            if op not in ("==", "!="):
                raise self.error(node, f"null cannot be compared with {op}; use == or !=")
            other = right if left.type == "null" else left
            test = "IS NULL" if op == "==" else "IS NOT NULL"
            return Sql(f"({other.sql} {test})", "boolean", other.params, condition=True)
        left, right = self.unify(node.left, left, node.right, right)
        if left.type in ("text", "boolean") and op not in ("==", "!="):
            raise self.error(
                node,
                f"{TYPE_WORDS[left.type]} can only be compared with == or != "
                f"(or in a list), not {op}",
            )
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        return _false_if_missing(f"{left.sql} {sql_op} {right.sql}", left.params + right.params)

    def unify(self, a_node: Node, a: Sql, b_node: Node, b: Sql) -> tuple[Sql, Sql]:
        """Both sides of a comparison in one type; a text literal beside a date is a date."""
        if a.type == b.type:
            return a, b
        if a.type in ("date", "timestamp") and isinstance(b_node, Lit):
            return a, self.date_literal(b_node, a.type)
        if b.type in ("date", "timestamp") and isinstance(a_node, Lit):
            return self.date_literal(a_node, b.type), b
        if {a.type, b.type} == {"date", "timestamp"}:
            return a, b
        # Point at the literal, if there is one: that is usually what is mistyped.
        culprit = b_node if isinstance(b_node, Lit) or not isinstance(a_node, Lit) else a_node
        raise self.error(
            culprit,
            f"cannot compare {self.describe(a_node, a)} with {self.describe(b_node, b)}"
            + _quote_hint(a_node, a, b_node, b),
        )

    def date_literal(self, node: Lit, kind: Type) -> Sql:
        value = node.value
        text = value if isinstance(value, str) else ""
        try:
            if _DATE.fullmatch(text):
                day = dt.date.fromisoformat(text)
                return Sql("CAST(? AS DATE)", "date", (day,))
            if _TIMESTAMP.fullmatch(text):
                moment = dt.datetime.fromisoformat(text.replace(" ", "T"))
                return Sql("CAST(? AS TIMESTAMP)", "timestamp", (moment,))
        except ValueError:
            raise self.error(node, f"{_quoted(text)} is no calendar date") from None
        shown = _quoted(text) if isinstance(value, str) else repr(value)
        raise self.error(
            node, f'a date is written "YYYY-MM-DD" (or "YYYY-MM-DD HH:MM"), got {shown}'
        )

    def describe(self, node: Node, value: Sql) -> str:
        if isinstance(node, Col):
            return f"'{self._column_name(node)}' ({TYPE_WORDS[value.type]})"
        if isinstance(node, Lit):
            shown = _quoted(node.value) if isinstance(node.value, str) else _shown(node.value)
            return f"{shown} ({TYPE_WORDS[value.type]})"
        return TYPE_WORDS[value.type]

    def _column_name(self, node: Col) -> str:
        same = self._by_lower.get(node.name.lower(), [node.name])
        return node.name if node.name in self.attributes else same[0]

    def in_list(self, node: In) -> Sql:
        operand = self.compile(node.operand)
        if operand.type == "boolean":
            raise self.error(node, "true/false is tested with == or !=, not in a list")
        items = [self.unify(node.operand, operand, i, self.literal(i))[1] for i in node.items]
        params = operand.params + tuple(p for i in items for p in i.params)
        test = _false_if_missing(f"{operand.sql} IN ({', '.join(i.sql for i in items)})", params)
        return _negate(test) if node.negated else test

    def between(self, node: Between) -> Sql:
        operand = self.compile(node.operand)
        if operand.type in ("text", "boolean"):
            raise self.error(node, f"between applies to numbers and dates, not {operand.type}")
        _, low = self.unify(node.operand, operand, node.low, self.compile(node.low))
        _, high = self.unify(node.operand, operand, node.high, self.compile(node.high))
        test = _false_if_missing(
            f"{operand.sql} BETWEEN {low.sql} AND {high.sql}",
            operand.params + low.params + high.params,
        )
        return _negate(test) if node.negated else test

    # -- helpers ----------------------------------------------------------------------------
    def expect(self, node: Node, value: Sql, kind: Type, reason: str) -> None:
        if value.type != kind:
            raise self.error(node, f"{reason}, but {self.describe(node, value)} is not one")

    def as_condition(self, node: Node, value: Sql) -> Sql:
        if value.condition:
            return value
        if value.type == "boolean":  # a true/false attribute (or literal) alone
            return Sql(f"coalesce({value.sql}, FALSE)", "boolean", value.params, condition=True)
        if value.type == "null":
            return Sql("FALSE", "boolean", condition=True)
        example = {"number": " (for example x > 0)", "text": ' (for example x == "value")'}
        raise self.error(
            node,
            f"expected a condition, but {self.describe(node, value)} is not one: compare it"
            + example.get(value.type, ""),
        )


def _false_if_missing(test: str, params: tuple[Any, ...]) -> Sql:
    # SQL's comparisons with NULL give NULL; a rule's are false (see the module docstring).
    return Sql(f"coalesce({test}, FALSE)", "boolean", params, condition=True)


def _negate(test: Sql) -> Sql:
    return Sql(f"(NOT {test.sql})", "boolean", test.params, condition=True)


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if not isinstance(value, bool) else str(value).lower()


def _quote_hint(a_node: Node, a: Sql, b_node: Node, b: Sql) -> str:
    if {a.type, b.type} == {"number", "text"}:
        lit = a_node if isinstance(a_node, Lit) else b_node if isinstance(b_node, Lit) else None
        if isinstance(lit, Lit) and isinstance(lit.value, str):
            return ": write the number without quotes"
        if isinstance(lit, Lit):
            return ": write text in quotes"
    return ""


# Functions -----------------------------------------------------------------------------------
def _text_fn(sql_name: str) -> Callable[[RuleCompiler, Call, list[Sql]], Sql]:
    def compile_(c: RuleCompiler, node: Call, args: list[Sql]) -> Sql:
        c.expect(node.args[0], args[0], "text", f"{node.name}() applies to text")
        return Sql(f"{sql_name}({args[0].sql})", "text", args[0].params)

    return compile_


def _length(c: RuleCompiler, node: Call, args: list[Sql]) -> Sql:
    c.expect(node.args[0], args[0], "text", "length() applies to text")
    return Sql(f"length({args[0].sql})", "number", args[0].params)


def _abs(c: RuleCompiler, node: Call, args: list[Sql]) -> Sql:
    c.expect(node.args[0], args[0], "number", "abs() applies to numbers")
    return Sql(f"abs({args[0].sql})", "number", args[0].params)


def _round(c: RuleCompiler, node: Call, args: list[Sql]) -> Sql:
    c.expect(node.args[0], args[0], "number", "round() applies to numbers")
    if len(args) == 1:
        return Sql(f"round({args[0].sql})", "number", args[0].params)
    digits = node.args[1]
    if not (isinstance(digits, Lit) and isinstance(digits.value, float)):
        raise c.error(digits, "round()'s digits must be a whole number from 0 to 10")
    if not (digits.value.is_integer() and 0 <= digits.value <= 10):
        raise c.error(digits, "round()'s digits must be a whole number from 0 to 10")
    return Sql(f"round({args[0].sql}, {int(digits.value)})", "number", args[0].params)


def _coalesce(c: RuleCompiler, node: Call, args: list[Sql]) -> Sql:
    kinds = {a.type for a in args} - {"null"}
    if len(kinds) > 1:
        raise c.error(
            node, "coalesce() takes values of one type, got " + " and ".join(sorted(kinds))
        )
    kind: Type = kinds.pop() if kinds else "null"
    params = tuple(p for a in args for p in a.params)
    return Sql(f"coalesce({', '.join(a.sql for a in args)})", kind, params)


def _text_test(template: str) -> Callable[[RuleCompiler, Call, list[Sql]], Sql]:
    def compile_(c: RuleCompiler, node: Call, args: list[Sql]) -> Sql:
        for n, a in zip(node.args, args, strict=True):
            c.expect(n, a, "text", f"{node.name}() applies to text")
        sql = template.format(*(a.sql for a in args))
        return _false_if_missing(sql, args[0].params + args[1].params)

    return compile_


FUNCTIONS: dict[str, Function] = {
    "lower": Function(1, 1, "lower(text)", _text_fn("lower")),
    "upper": Function(1, 1, "upper(text)", _text_fn("upper")),
    "trim": Function(1, 1, "trim(text)", _text_fn("trim")),
    "length": Function(1, 1, "length(text)", _length),
    "abs": Function(1, 1, "abs(number)", _abs),
    "round": Function(1, 2, "round(number[, digits])", _round),
    "coalesce": Function(2, 8, "coalesce(a, b, ...)", _coalesce),
    # strpos(...) > 0, not LIKE: a % or _ in the searched text is then just a character.
    "contains": Function(2, 2, "contains(text, part)", _text_test("strpos({0}, {1}) > 0")),
    "starts_with": Function(2, 2, "starts_with(text, start)", _text_test("strpos({0}, {1}) = 1")),
}


# Public interface ----------------------------------------------------------------------------
def parse_rule(text: str) -> Node:
    try:
        return RuleParser(text).parse()
    except ExpressionError as exc:
        raise RuleError(text, exc.position, exc.reason) from None


def compile_rule(text: str, attributes: Mapping[str, Attribute]) -> CompiledRule:
    """``text`` as a SQL condition over the columns in ``attributes`` (raises RuleError)."""
    if not isinstance(text, str):
        raise TypeError(f"a rule is text, got {type(text).__name__}")
    return RuleCompiler(text, attributes).rule(parse_rule(text))


def attributes_from_types(
    types: Sequence[tuple[str, str]], labels: Mapping[str, str] | None = None
) -> dict[str, Attribute]:
    """The attributes of a table from ``engine.column_types(table)``."""
    labels = labels or {}
    return {
        name: Attribute(name, attribute_type(sql_type), sql_type, labels.get(name, ""))
        for name, sql_type in types
    }


__all__ = [
    "MAX_DEPTH",
    "Attribute",
    "CompiledRule",
    "RuleError",
    "attributes_from_types",
    "compile_rule",
    "parse_rule",
]
