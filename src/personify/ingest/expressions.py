"""Derived column values: the small expression language of ``ColumnSpec.expr``.

An expression such as ``first_name(`Full Name`)`` or ``number(net) + number(tax)`` is
parsed here and compiled to one SQL expression that the engine evaluates over the whole
table; user text is never evaluated as Python. The language (documented in
docs/sources.md, "Derived values: expr"):

- literals: ``'text'`` or ``"text"`` (backslash escapes), numbers, ``true``, ``false``, ``null``;
- columns: bare identifiers (``net``) or backticked names (```Full Name```, a backtick inside
  is written twice);
- operators, loosest first: ``or``; ``and``; ``not``; comparisons ``== != < <= > >=``;
  ``||`` (concatenation); ``+ -``; ``* /``; unary ``-``; parentheses group;
- the functions in :data:`FUNCTIONS`.

Column values are text (trimmed, blank is null, as for a mapped column); arithmetic and
comparisons with a number read text as a number (``TRY_CAST``: text that is no number
becomes null). The parser is written by hand, a small recursive-descent parser: the grammar
is a dozen rules, every node must compile to SQL with its own typing rules, and every error
must point at a position in the user's text; a parsing library would add a dependency
without removing any of that work.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import nameparser
import pyarrow as pa
import pyarrow.compute as pc

from personify.errors import SourceError
from personify.ingest._readers import quote_literal

if TYPE_CHECKING:
    from personify.engine import Engine

MAX_LENGTH = 4000  # characters of one expression
MAX_DEPTH = 40  # nesting of operators, parentheses and calls
NAME_PART_FUNCTION = "personify_name_part"
NAME_PARTS = ("title", "first", "middle", "last", "suffix")

Type = Literal["text", "number", "boolean", "null"]


class ExpressionError(SourceError):
    """An ``expr:`` cannot be compiled; the message names the position and shows a caret.

    ``problem`` is the one-line form (no caret), for listing among other config problems.
    """

    def __init__(self, text: str, position: int, reason: str) -> None:
        self.text = text
        self.position = position  # 1-based character offset into text
        self.reason = reason
        self.problem = f"expr {_quoted(text)} at {position}: {reason}"
        super().__init__(f"{self.problem}\n{_caret(text, position)}")


def _quoted(text: str) -> str:
    shown = text if len(text) <= 80 else text[:77] + "..."
    return '"' + shown.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _caret(text: str, position: int) -> str:
    # Tabs and newlines become spaces so the caret stays under its character.
    flat = "".join(" " if c in "\t\r\n" else c for c in text)
    start = max(0, position - 1 - 60)
    window = flat[start : start + 120]
    prefix = "..." if start else ""
    return f"  {prefix}{window}\n  {' ' * (len(prefix) + position - 1 - start)}^"


def _suggest(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.5)
    return f" (did you mean {close[0]}?)" if close else ""


# Tokens --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Token:
    kind: str  # 'string' 'number' 'name' 'column' 'op' 'end'
    value: str
    pos: int  # 1-based


KEYWORDS = {"and", "or", "not", "true", "false", "null"}
OPERATORS = ("||", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")", ",")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "`": "`"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "'\"":
            i = _read_string(text, i, tokens)
        elif c == "`":
            end = i + 1
            name: list[str] = []
            while True:
                if end >= n:
                    raise ExpressionError(text, i + 1, "unterminated `column name`")
                if text[end] == "`":
                    if text[end + 1 : end + 2] == "`":  # `` is a backtick in the name
                        name.append("`")
                        end += 2
                        continue
                    break
                name.append(text[end])
                end += 1
            if not name:
                raise ExpressionError(text, i + 1, "empty `column name`")
            tokens.append(Token("column", "".join(name), i + 1))
            i = end + 1
        elif c.isdigit() or (c == "." and text[i + 1 : i + 2].isdigit()):
            i = _read_number(text, i, tokens)
        elif c.isalpha() or c == "_":
            end = i
            while end < n and (text[end].isalnum() or text[end] == "_"):
                end += 1
            tokens.append(Token("name", text[i:end], i + 1))
            i = end
        else:
            op = next((o for o in OPERATORS if text.startswith(o, i)), None)
            if op is None:
                hint = {
                    "=": " (compare with ==)",
                    "&": " (use and)",
                    "|": " (use or, or || to join text)",
                    "!": " (use not)",
                }.get(c, "")
                raise ExpressionError(text, i + 1, f"unexpected character {c!r}{hint}")
            tokens.append(Token("op", op, i + 1))
            i += len(op)
    tokens.append(Token("end", "", n + 1))
    return tokens


def _read_string(text: str, start: int, tokens: list[Token]) -> int:
    quote, i = text[start], start + 1
    chars: list[str] = []
    while i < len(text):
        c = text[i]
        if c == quote:
            tokens.append(Token("string", "".join(chars), start + 1))
            return i + 1
        if c == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt not in ESCAPES:
                raise ExpressionError(
                    text, i + 1, f"unknown escape \\{nxt} (use \\\\ \\' \\\" \\n \\t \\r)"
                )
            chars.append(ESCAPES[nxt])
            i += 2
            continue
        chars.append(c)
        i += 1
    raise ExpressionError(text, start + 1, f"unterminated string (no closing {quote})")


def _read_number(text: str, start: int, tokens: list[Token]) -> int:
    i, n = start, len(text)
    while i < n and text[i].isdigit():
        i += 1
    if i < n and text[i] == ".":
        i += 1
        while i < n and text[i].isdigit():
            i += 1
    if i < n and text[i] in "eE":
        j = i + 1
        if j < n and text[j] in "+-":
            j += 1
        if j < n and text[j].isdigit():
            i = j
            while i < n and text[i].isdigit():
                i += 1
    literal = text[start:i]
    # Only ASCII digits are numbers: str.isdigit() also accepts '²' or '٣'.
    if not literal.replace(".", "").replace("e", "").replace(
        "E", ""
    ).isascii() or not math.isfinite(_float(literal)):
        raise ExpressionError(text, start + 1, f"not a usable number: {literal}")
    if i < n and (text[i].isalnum() or text[i] == "_"):
        raise ExpressionError(text, i + 1, f"unexpected {text[i]!r} after the number {literal}")
    tokens.append(Token("number", literal, start + 1))
    return i


def _float(literal: str) -> float:
    try:
        return float(literal)
    except ValueError:
        return math.nan


# Syntax tree ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    pos: int
    depth: int = field(default=1, kw_only=True)  # levels of the tree below and including it


@dataclass(frozen=True)
class Lit(Node):
    value: str | float | bool | None


@dataclass(frozen=True)
class Col(Node):
    name: str


@dataclass(frozen=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary(Node):
    op: str  # '-' or 'not'
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


class Parser:
    """Recursive descent, one method per precedence level (loosest first)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    def error(self, pos: int, reason: str) -> ExpressionError:
        return ExpressionError(self.text, pos, reason)

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def at(self, *ops: str) -> bool:
        t = self.tok
        # Keywords (and, or, not) are case-insensitive, like function names.
        return (t.kind == "op" and t.value in ops) or (t.kind == "name" and t.value.lower() in ops)

    def take(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def expect(self, op: str, context: str) -> Token:
        if not self.at(op):
            raise self.error(self.tok.pos, f"expected '{op}' {context}, found {self.describe()}")
        return self.take()

    def describe(self, token: Token | None = None) -> str:
        t = token or self.tok
        if t.kind == "end":
            return "the end"
        if t.kind == "string":
            return "a string"
        if t.kind == "column":
            return f"`{t.value}`"
        return f"'{t.value}'"

    def nest(self, pos: int) -> None:
        # Checked on the way down, so deep input is refused before Python's own stack runs out.
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise self.too_deep(pos)

    def too_deep(self, pos: int) -> ExpressionError:
        return self.error(pos, f"nested too deeply (more than {MAX_DEPTH} levels)")

    def tree(self, pos: int, children: Sequence[Node]) -> int:
        """The depth of a new node; long operator chains are refused like deep nesting."""
        depth = 1 + max((c.depth for c in children), default=0)
        if depth > MAX_DEPTH:
            raise self.too_deep(pos)
        return depth

    def parse(self) -> Node:
        if len(self.text) > MAX_LENGTH:
            raise self.error(MAX_LENGTH + 1, f"longer than {MAX_LENGTH} characters")
        if self.tok.kind == "end":
            raise self.error(1, "empty expression")
        node = self.expression()
        if self.tok.kind != "end":
            raise self.error(self.tok.pos, f"unexpected {self.describe()} after a whole expression")
        return node

    def expression(self) -> Node:
        return self.binary_level(0)

    # Binary levels, loosest first; comparisons do not chain (a < b < c is an error).
    LEVELS: Sequence[set[str]] = ({"or"}, {"and"}, COMPARISONS, {"||"}, {"+", "-"}, {"*", "/"})

    def binary_level(self, level: int) -> Node:
        if level == len(self.LEVELS):
            return self.unary()
        if level == 2:
            return self.comparison()
        ops = self.LEVELS[level]
        left = self.binary_level(level + 1)
        while self.at(*ops):
            op = self.take()
            right = self.binary_level(level + 1)
            depth = self.tree(op.pos, (left, right))
            left = Binary(op.pos, op.value.lower(), left, right, depth=depth)
        return left

    def comparison(self) -> Node:
        if self.at("not"):
            op = self.take()
            self.nest(op.pos)
            operand = self.comparison()
            self.nesting -= 1
            return Unary(op.pos, "not", operand, depth=self.tree(op.pos, (operand,)))
        left = self.binary_level(3)
        if self.at(*COMPARISONS):
            op = self.take()
            right = self.binary_level(3)
            if self.at(*COMPARISONS):
                raise self.error(
                    self.tok.pos, "comparisons do not chain: write (a < b) and (b < c)"
                )
            depth = self.tree(op.pos, (left, right))
            return Binary(op.pos, op.value, left, right, depth=depth)
        return left

    def unary(self) -> Node:
        if self.at("-"):
            op = self.take()
            self.nest(op.pos)
            operand = self.unary()
            self.nesting -= 1
            return Unary(op.pos, "-", operand, depth=self.tree(op.pos, (operand,)))
        return self.primary()

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "string":
            self.take()
            return Lit(t.pos, t.value)
        if t.kind == "number":
            self.take()
            return Lit(t.pos, float(t.value))
        if t.kind == "column":
            self.take()
            return Col(t.pos, t.value)
        if t.kind == "name":
            self.take()
            word = t.value.lower()
            if word in ("true", "false"):
                return Lit(t.pos, word == "true")
            if word == "null":
                return Lit(t.pos, None)
            if word in KEYWORDS:
                raise self.error(t.pos, f"expected a value, found '{t.value}'")
            if self.at("("):
                return self.call(t)
            return Col(t.pos, t.value)
        if self.at("("):
            self.take()
            self.nest(t.pos)
            node = self.expression()
            self.nesting -= 1
            self.expect(")", f"to close the '(' at {t.pos}")
            return node
        raise self.error(t.pos, f"expected a value, found {self.describe()}")

    def functions(self) -> Mapping[str, Any]:
        """The functions a call may name (each with min_args, max_args, signature)."""
        return FUNCTIONS

    def arity_error(self, fn: Any, lower: str, n: int) -> str:
        return f"{lower}() takes {_arity(fn)}, got {n}: {lower}({fn.signature})"

    def call(self, name: Token) -> Node:
        functions, lower = self.functions(), name.value.lower()
        fn = functions.get(lower)
        if fn is None:
            known = ", ".join(sorted(functions))
            raise self.error(
                name.pos,
                f"unknown function '{name.value}'{_suggest(lower, functions)} (functions: {known})",
            )
        open_paren = self.take()
        self.nest(open_paren.pos)
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.expression())
            while self.at(","):
                self.take()
                args.append(self.expression())
        self.nesting -= 1
        self.expect(")", f"to close the call of {name.value}() at {name.pos}")
        n = len(args)
        if n < fn.min_args or (fn.max_args is not None and n > fn.max_args):
            raise self.error(name.pos, self.arity_error(fn, lower, n))
        depth = self.tree(name.pos, args)
        return Call(name.pos, lower, tuple(args), depth=depth)


# Typed compilation to SQL --------------------------------------------------------------------
@dataclass(frozen=True)
class Sql:
    sql: str
    type: Type


Resolve = Callable[[str], str]


@dataclass(frozen=True)
class Function:
    min_args: int
    max_args: int | None  # None: any number
    signature: str
    compile: Callable[[Compiler, Call, list[Sql]], Sql]


class Compiler:
    def __init__(self, text: str, resolve: Resolve, known_columns: Collection[str] | None) -> None:
        self.text = text
        self.resolve = resolve
        self.known_columns = known_columns

    def error(self, node: Node, reason: str) -> ExpressionError:
        return ExpressionError(self.text, node.pos, reason)

    def compile(self, node: Node) -> Sql:
        if isinstance(node, Lit):
            return literal(node.value)
        if isinstance(node, Col):
            return self.column(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Unary):
            operand = self.compile(node.operand)
            if node.op == "-":
                return Sql(f"(- {self.as_number(node.operand, operand)})", "number")
            return Sql(f"(NOT {self.as_condition(node.operand, operand)})", "boolean")
        assert isinstance(node, Binary)
        return self.binary(node, self.compile(node.left), self.compile(node.right))

    def column(self, node: Col) -> Sql:
        try:
            resolved = self.resolve(node.name)
        except KeyError:
            known = self.known_columns
            listing = ""
            if known:
                names = sorted(known)
                shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
                listing = f"{_suggest(node.name, known)} (columns: {shown})"
            raise self.error(node, f"unknown column '{node.name}'{listing}") from None
        # The same value a mapped column starts from: trimmed text, blank is missing.
        return Sql(f"NULLIF(trim(CAST({resolved} AS VARCHAR)), '')", "text")

    def call(self, node: Call) -> Sql:
        fn = FUNCTIONS[node.name]
        return fn.compile(self, node, [self.compile(a) for a in node.args])

    def binary(self, node: Binary, left: Sql, right: Sql) -> Sql:
        op = node.op
        if op in ("and", "or"):
            a = self.as_condition(node.left, left)
            b = self.as_condition(node.right, right)
            return Sql(f"({a} {op.upper()} {b})", "boolean")
        if op == "||":
            return Sql(f"({as_text(left)} || {as_text(right)})", "text")
        if op in ("+", "-", "*", "/"):
            a = self.as_number(node.left, left)
            b = self.as_number(node.right, right)
            if op == "/":  # dividing by zero gives null, the same on every engine
                return Sql(f"({a} / NULLIF({b}, 0))", "number")
            return Sql(f"({a} {op} {b})", "number")
        return self.comparison(node, left, right)

    def comparison(self, node: Binary, left: Sql, right: Sql) -> Sql:
        op = node.op
        if "null" in (left.type, right.type):
            # x == null means "x is missing"; SQL's x = NULL would be null for every row.
            if op not in ("==", "!="):
                raise self.error(node, f"null cannot be compared with {op}; use == or !=")
            other = right if left.type == "null" else left
            test = "IS NULL" if op == "==" else "IS NOT NULL"
            return Sql(f"({other.sql} {test})", "boolean")
        sql_op = {"==": "=", "!=": "<>"}.get(op, op)
        types = {left.type, right.type}
        if "boolean" in types:
            if op not in ("==", "!="):
                raise self.error(node, f"true/false cannot be compared with {op}")
            if "number" in types:
                raise self.error(node, "cannot compare true/false with a number")
            a, b = (_as_boolean(s) for s in (left, right))
        elif "number" in types:
            a, b = self.as_number(node.left, left), self.as_number(node.right, right)
        else:
            a, b = left.sql, right.sql
        return Sql(f"({a} {sql_op} {b})", "boolean")

    def as_number(self, node: Node, value: Sql) -> str:
        if value.type == "number":
            return value.sql
        if value.type == "boolean":
            raise self.error(node, "true/false is not a number")
        return f"TRY_CAST({value.sql} AS DOUBLE)"

    def as_integer(self, node: Node, value: Sql) -> str:
        value_ = node.value if isinstance(node, Lit) else None
        if isinstance(value_, float) and value_.is_integer() and abs(value_) < 2**31:
            return str(int(value_))
        return f"TRY_CAST(round({self.as_number(node, value)}) AS INTEGER)"

    def as_condition(self, node: Node, value: Sql) -> str:
        if value.type in ("boolean", "null"):
            return value.sql
        raise self.error(
            node, f"expected a condition (a comparison or true/false), got {value.type}"
        )


def literal(value: str | float | bool | None) -> Sql:
    if value is None:
        return Sql("NULL", "null")
    if isinstance(value, bool):
        return Sql("TRUE" if value else "FALSE", "boolean")
    if isinstance(value, float):
        return Sql(f"CAST({value!r} AS DOUBLE)", "number")
    return Sql(quote_literal(value), "text")


def as_text(value: Sql) -> str:
    if value.type == "number":  # 3 rather than 3.0, as the number would be written
        return f"regexp_replace(CAST({value.sql} AS VARCHAR), '\\.0$', '')"
    return value.sql if value.type == "text" else f"CAST({value.sql} AS VARCHAR)"


def _as_boolean(value: Sql) -> str:
    return value.sql if value.type == "boolean" else f"TRY_CAST({value.sql} AS BOOLEAN)"


def _arity(fn: Function) -> str:
    if fn.max_args is None:
        return f"at least {fn.min_args} argument(s)"
    if fn.min_args == fn.max_args:
        return f"{fn.min_args} argument(s)"
    return f"{fn.min_args} to {fn.max_args} arguments"


def _unify(values: list[Sql]) -> tuple[list[str], Type]:
    """One type for values that meet in one column (coalesce, if): text unless all agree."""
    types = {v.type for v in values} - {"null"}
    if len(types) == 1:
        return [v.sql for v in values], types.pop()
    if not types:
        return [v.sql for v in values], "null"
    return [as_text(v) if v.type != "null" else "NULL" for v in values], "text"


# Functions -----------------------------------------------------------------------------------
def _coalesce(c: Compiler, node: Call, args: list[Sql]) -> Sql:
    sqls, typ = _unify(args)
    return Sql(f"COALESCE({', '.join(sqls)})", typ)


def _concat(c: Compiler, node: Call, args: list[Sql]) -> Sql:
    # concat() skips missing parts, where || makes the whole result missing.
    return Sql(f"concat({', '.join(as_text(a) for a in args)})", "text")


def _text_function(sql_name: str) -> Callable[[Compiler, Call, list[Sql]], Sql]:
    def compile_(c: Compiler, node: Call, args: list[Sql]) -> Sql:
        return Sql(f"{sql_name}({', '.join(as_text(a) for a in args)})", "text")

    return compile_


def _substr(c: Compiler, node: Call, args: list[Sql]) -> Sql:
    parts = [as_text(args[0])] + [
        c.as_integer(n, a) for n, a in zip(node.args[1:], args[1:], strict=True)
    ]
    return Sql(f"substr({', '.join(parts)})", "text")


def _split_part(c: Compiler, node: Call, args: list[Sql]) -> Sql:
    index = c.as_integer(node.args[2], args[2])
    return Sql(f"split_part({as_text(args[0])}, {as_text(args[1])}, {index})", "text")


def _number(c: Compiler, node: Call, args: list[Sql]) -> Sql:
    value = args[0]
    if len(args) == 1:
        return Sql(c.as_number(node.args[0], value), "number")
    sep = node.args[1]
    if not (isinstance(sep, Lit) and sep.value in (".", ",")):
        raise c.error(sep, "number()'s decimal separator must be '.' or ','")
    # Drop the other separator (thousands) and spaces, then read with a '.' decimal point.
    grouping = "," if sep.value == "." else "."
    text = f"replace(replace({as_text(value)}, ' ', ''), '{grouping}', '')"
    if sep.value == ",":
        text = f"replace({text}, ',', '.')"
    return Sql(f"TRY_CAST({text} AS DOUBLE)", "number")


def _if(c: Compiler, node: Call, args: list[Sql]) -> Sql:
    cond = c.as_condition(node.args[0], args[0])
    (then, other), typ = _unify(args[1:])
    # A missing condition (null) takes the else branch, as SQL's CASE does.
    return Sql(f"CASE WHEN {cond} THEN {then} ELSE {other} END", typ)


def _round(c: Compiler, node: Call, args: list[Sql]) -> Sql:
    value = c.as_number(node.args[0], args[0])
    if len(args) == 1:
        return Sql(f"round({value})", "number")
    digits = c.as_integer(node.args[1], args[1])
    return Sql(f"round({value}, {digits})", "number")


def _name_part(part: str) -> Callable[[Compiler, Call, list[Sql]], Sql]:
    def compile_(c: Compiler, node: Call, args: list[Sql]) -> Sql:
        return Sql(f"{NAME_PART_FUNCTION}({as_text(args[0])}, '{part}')", "text")

    return compile_


FUNCTIONS: dict[str, Function] = {
    "coalesce": Function(1, None, "a, b, ...", _coalesce),
    "concat": Function(1, None, "a, b, ...", _concat),
    "lower": Function(1, 1, "text", _text_function("lower")),
    "upper": Function(1, 1, "text", _text_function("upper")),
    "trim": Function(1, 1, "text", _text_function("trim")),
    "substr": Function(2, 3, "text, start[, length]", _substr),
    "replace": Function(3, 3, "text, from, to", _text_function("replace")),
    "split_part": Function(3, 3, "text, separator, index", _split_part),
    "number": Function(1, 2, "text[, decimal separator]", _number),
    "if": Function(3, 3, "condition, then, else", _if),
    "round": Function(1, 2, "number[, digits]", _round),
    **{
        f"{part}_name" if part in ("first", "middle", "last") else part: Function(
            1, 1, "full name", _name_part(part)
        )
        for part in NAME_PARTS
    },
}


# Public interface ----------------------------------------------------------------------------
def parse(text: str) -> Node:
    return Parser(text).parse()


def compile_expression(
    text: str, resolve: Resolve, *, known_columns: Collection[str] | None = None
) -> str:
    """One SQL expression for ``text``; ``resolve(name)`` gives a column's SQL or KeyError.

    ``known_columns`` (optional) are listed, with the closest match, for an unknown column.
    The result is text, a number or true/false; name parts need :func:`register_functions`.
    """
    return Compiler(text, resolve, known_columns).compile(parse(text)).sql


def referenced_columns(text: str) -> list[str]:
    """The column names ``text`` reads, in order of first use."""
    found: list[str] = []

    def walk(node: Node) -> None:
        if isinstance(node, Col):
            if node.name not in found:
                found.append(node.name)
        elif isinstance(node, Call):
            for a in node.args:
                walk(a)
        elif isinstance(node, Unary):
            walk(node.operand)
        elif isinstance(node, Binary):
            walk(node.left)
            walk(node.right)

    walk(parse(text))
    return found


# Name parts ----------------------------------------------------------------------------------
@functools.lru_cache(maxsize=262_144)
def name_parts(full_name: str) -> tuple[str | None, ...]:
    """(title, first, middle, last, suffix) of one name; a part the name lacks is None.

    nameparser knows titles, suffixes, particles and the "Last, First" order in many
    languages, but costs about a quarter to one millisecond per name; exports repeat
    names, so each distinct value is parsed once (cached across chunks and queries).
    """
    plain = _plain_name(full_name)
    if plain is not None:
        return plain
    name = nameparser.parse(full_name)  # the v2 API; HumanName is its v1 facade
    parts = (name.title, name.given, name.middle, name.family, name.suffix)
    return tuple(p or None for p in parts)


# A word of Latin letters, perhaps joined by a hyphen or apostrophe (Mary-Jane, O'Neil).
_LATIN_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ɏ]{2,}(?:['’-][A-Za-zÀ-ÖØ-öø-ɏ]+)*")


@functools.cache
def _special_words() -> frozenset[str]:
    """Every word nameparser gives a role of its own: titles, suffixes, particles..."""
    c = nameparser.config.CONSTANTS
    groups = (
        c.titles,
        c.first_name_titles,
        c.prefixes,
        c.non_first_name_prefixes,
        c.conjunctions,
        c.suffix_acronyms,
        c.suffix_not_acronyms,
        c.bound_first_names,
    )
    return frozenset(w.lower() for g in groups for w in g)


def _plain_name(full_name: str) -> tuple[str | None, ...] | None:
    """Parts of a plain 'Given [Middle] Family' name without nameparser, else None.

    nameparser takes about a millisecond a name (a million distinct customers: twenty
    minutes); most names are two or three plain words, which it always splits this way
    (a property test checks the two agree). Anything else goes to nameparser."""
    words = full_name.split()
    if not 2 <= len(words) <= 3:
        return None
    special = _special_words()
    for w in words:
        if not _LATIN_WORD.fullmatch(w) or w.lower() in special:
            return None
    middle = words[1] if len(words) == 3 else None
    return (None, words[0], middle, words[-1], None)


def name_part_column(
    values: pa.Array | pa.ChunkedArray, parts: pa.Array | pa.ChunkedArray
) -> pa.Array:
    """Vectorised ``personify_name_part``: each distinct (value, part) is looked up once."""
    values = _one_chunk(values).cast(pa.string())
    parts = _one_chunk(parts)
    result: list[str | None]
    distinct_parts = pc.unique(parts).to_pylist()
    if len(distinct_parts) == 1:
        part = distinct_parts[0]
        if part not in NAME_PARTS:
            return pa.nulls(len(values), pa.string())
        index = NAME_PARTS.index(part)
        encoded = pc.dictionary_encode(values)
        words = [
            None if v is None else name_parts(v)[index] for v in encoded.dictionary.to_pylist()
        ]
        return pc.take(pa.array(words, pa.string()), encoded.indices)
    result = [
        None if v is None or p not in NAME_PARTS else name_parts(v)[NAME_PARTS.index(p)]
        for v, p in zip(values.to_pylist(), parts.to_pylist(), strict=True)
    ]
    return pa.array(result, pa.string())


def _one_chunk(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def register_functions(engine: Engine) -> None:
    """Make the engine know the Python functions compiled expressions call (name parts)."""
    engine.register_scalar_function(
        NAME_PART_FUNCTION, name_part_column, parameters=["VARCHAR", "VARCHAR"], returns="VARCHAR"
    )
