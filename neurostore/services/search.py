"""Boolean full-text search: a small query language compiled to a PostgreSQL tsquery.

Syntax: words, ``"quoted phrases"``, ``AND``, ``OR``, ``NOT`` (upper case; lower-case
``and``/``or``/``not`` are ordinary words) and parentheses. Words side by side are joined
by an implicit AND. Precedence, tightest first: NOT, AND (explicit or implicit), OR.
Each word and phrase goes through ``plainto_tsquery`` / ``phraseto_tsquery`` with the
document's configuration, so stemming and stop words match how documents were indexed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, literal, literal_column

from neurostore.models.search import FULLTEXT_DOCUMENT, TEXT_SEARCH_CONFIG
from neurostore.services.errors import Invalid

MAX_QUERY_LENGTH = 1000
# Parentheses and NOTs nested deeper than this are refused (each level is a recursive
# call here and in the SQL compiler).
MAX_NESTING = 32
_TOKEN = re.compile(r'\s*(?:(?P<phrase>"[^"]*"?)|(?P<paren>[()])|(?P<word>[^\s()"]+))')


@dataclass(frozen=True)
class Term:
    """A word, or a phrase when ``phrase`` is true."""

    text: str
    phrase: bool = False


@dataclass(frozen=True)
class Not:
    """Documents that do not match ``operand``."""

    operand: object


@dataclass(frozen=True)
class And:
    """Documents matching every operand."""

    operands: tuple


@dataclass(frozen=True)
class Or:
    """Documents matching any operand."""

    operands: tuple


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos = match.end()
        if match.group("phrase") is not None:
            raw = match.group("phrase")
            if len(raw) < 2 or not raw.endswith('"'):
                raise _error(f"unclosed quote at position {match.start('phrase') + 1}")
            out.append(("phrase", raw[1:-1], match.start("phrase")))
        elif match.group("paren") is not None:
            out.append((match.group("paren"), match.group("paren"), match.start("paren")))
        elif match.group("word") in ("AND", "OR", "NOT"):
            out.append((match.group("word"), match.group("word"), match.start("word")))
        elif match.group("word") is not None:
            out.append(("word", match.group("word"), match.start("word")))
    return out


def _error(message: str) -> Invalid:
    return Invalid({"search": [message]})


class _Parser:
    def __init__(self, tokens: list[tuple[str, str, int]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    def nest(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _error(f"nested more than {MAX_NESTING} levels deep at position {pos + 1}")

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse_or(self) -> object:
        operands = [self.parse_and()]
        while self.peek() == "OR":
            self.take()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> object:
        operands = [self.parse_not()]
        while self.peek() in ("AND", "NOT", "word", "phrase", "("):
            if self.peek() == "AND":
                self.take()
            operands.append(self.parse_not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_not(self) -> object:
        if self.peek() == "NOT":
            _, _, pos = self.take()
            self.nest(pos)
            operand = self.parse_not()
            self.depth -= 1
            return Not(operand)
        return self.parse_atom()

    def parse_atom(self) -> object:
        kind = self.peek()
        if kind is None:
            raise _error("the query ends where a word, phrase or '(' was expected")
        _, text, pos = self.take()
        if kind == "(":
            self.nest(pos)
            inner = self.parse_or()
            if self.peek() != ")":
                raise _error(f"the '(' at position {pos + 1} is never closed")
            self.take()
            self.depth -= 1
            return inner
        if kind in ("word", "phrase"):
            return Term(text, phrase=kind == "phrase")
        raise _error(f"unexpected {text!r} at position {pos + 1}")


def parse(text: str) -> object:
    """Parse a search string into a tree of :class:`Term`, :class:`Not`, :class:`And`, :class:`Or`.

    Raises
    ------
    Invalid
        For an empty or too long query, an unclosed quote or parenthesis, or an operator
        without an operand; the message names the position.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise _error(f"at most {MAX_QUERY_LENGTH} characters")
    parser = _Parser(_tokens(text))
    if parser.peek() is None:
        raise _error("the query is empty")
    tree = parser.parse_or()
    if parser.peek() is not None:
        _, token, pos = parser.tokens[parser.i]
        raise _error(f"unexpected {token!r} at position {pos + 1}")
    return tree


def to_tsquery(tree: object) -> ColumnElement:
    """Compile a parsed query to a SQL ``tsquery`` expression (bound parameters only)."""
    if isinstance(tree, Term):
        make = func.phraseto_tsquery if tree.phrase else func.plainto_tsquery
        return make(literal_column(f"'{TEXT_SEARCH_CONFIG}'::regconfig"), literal(tree.text))
    if isinstance(tree, Not):
        return func.tsquery_not(to_tsquery(tree.operand))
    combine = func.tsquery_and if isinstance(tree, And) else func.tsquery_or
    # Combine pairwise (a balanced tree), so hundreds of operands stay shallow in SQL.
    level = [to_tsquery(operand) for operand in tree.operands]
    while len(level) > 1:
        level = [combine(level[n], level[n + 1]) if n + 1 < len(level) else level[n]
                 for n in range(0, len(level), 2)]
    return level[0]


DOCUMENT = literal_column(FULLTEXT_DOCUMENT)
"""The indexed full-text document; unqualified, so use it where one publication table is
in the FROM clause."""


def matches(text: str) -> ColumnElement:
    """``document @@ query`` for the search string ``text``."""
    return DOCUMENT.op("@@")(to_tsquery(parse(text)))
