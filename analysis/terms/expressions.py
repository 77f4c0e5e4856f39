"""Boolean expressions of terms, such as ``pain AND NOT itch`` or ``(a OR b) AND c``.

Grammar (operators in any case; ``NOT`` binds tighter than ``AND``, which binds tighter
than ``OR``)::

    expression  := disjunction END
    disjunction := conjunction ("OR" conjunction)*
    conjunction := negation ("AND" negation)*
    negation    := "NOT" negation | primary
    primary     := "(" disjunction ")" | term
    term        := QUOTED | WORD+

A ``WORD`` is a run of characters other than white space, parentheses and quotes (so
hyphens are part of it); consecutive words form one phrase, looked up as a vocabulary term
with single spaces between the words (``working memory``). A ``QUOTED`` term is text
between double or single quotes, taken as written (``"and"`` names a term called "and").
"""

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import ExpressionError
from .vocabulary import Vocabulary

_TOKEN = re.compile(r"""\s+|(?P<paren>[()])|(?P<quoted>"[^"]*"|'[^']*')|(?P<word>[^\s()"']+)""")
_OPERATORS = {"AND", "OR", "NOT"}

#: Returns the studies (a boolean vector) one term selects, given its vocabulary position.
ColumnSelector = Callable[[int], np.ndarray]


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "AND", "OR", "NOT", "term" or "end"
    text: str
    position: int


@dataclass(frozen=True)
class Term:
    """A vocabulary term, by name and position."""

    name: str
    index: int

    def select(self, column: ColumnSelector) -> np.ndarray:
        """Return the studies the term selects."""
        return column(self.index)


@dataclass(frozen=True)
class Not:
    """The studies an operand does not select."""

    operand: "Node"

    def select(self, column: ColumnSelector) -> np.ndarray:
        """Return the complement of the operand's studies."""
        return ~self.operand.select(column)


@dataclass(frozen=True)
class And:
    """The studies every operand selects."""

    operands: tuple["Node", ...]

    def select(self, column: ColumnSelector) -> np.ndarray:
        """Return the intersection of the operands' studies."""
        return np.logical_and.reduce([operand.select(column) for operand in self.operands])


@dataclass(frozen=True)
class Or:
    """The studies any operand selects."""

    operands: tuple["Node", ...]

    def select(self, column: ColumnSelector) -> np.ndarray:
        """Return the union of the operands' studies."""
        return np.logical_or.reduce([operand.select(column) for operand in self.operands])


Node = Term | Not | And | Or


def _tokens(text: str) -> list[_Token]:
    """Split an expression into tokens, joining consecutive words into one phrase."""
    tokens: list[_Token] = []
    position = 0
    phrase: list[str] = []
    phrase_start = 0

    def close_phrase() -> None:
        if phrase:
            tokens.append(_Token("term", " ".join(phrase), phrase_start))
            phrase.clear()

    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise ExpressionError(f"unterminated quote {text[position]!r}", position)
        if match["word"] is not None and match["word"].upper() not in _OPERATORS:
            if not phrase:
                phrase_start = position
            phrase.append(match["word"])
        elif match["word"] is not None or match["paren"] is not None:
            close_phrase()
            token = match["word"] or match["paren"]
            tokens.append(_Token(token.upper(), token, position))
        elif match["quoted"] is not None:
            close_phrase()
            tokens.append(_Token("term", match["quoted"][1:-1], position))
        position = match.end()
    close_phrase()
    tokens.append(_Token("end", "", len(text)))
    return tokens


class _Parser:
    """Recursive-descent parser over the tokens of one expression."""

    def __init__(self, text: str, vocabulary: Vocabulary) -> None:
        self.tokens = _tokens(text)
        self.vocabulary = vocabulary
        self.next = 0

    def peek(self) -> _Token:
        return self.tokens[self.next]

    def take(self) -> _Token:
        token = self.tokens[self.next]
        self.next += 1
        return token

    def expression(self) -> Node:
        if self.peek().kind == "end":
            raise ExpressionError("empty expression", 0)
        node = self.disjunction()
        token = self.peek()
        if token.kind == ")":
            raise ExpressionError("unmatched ')'", token.position)
        if token.kind != "end":
            raise ExpressionError(
                f"expected AND, OR or the end after a term, found {token.text!r}", token.position
            )
        return node

    def disjunction(self) -> Node:
        return self.chain("OR", self.conjunction, Or)

    def conjunction(self) -> Node:
        return self.chain("AND", self.negation, And)

    def chain(
        self, operator: str, operand: Callable[[], Node], combine: type[And] | type[Or]
    ) -> Node:
        """Parse ``operand (operator operand)*``; one operand stands alone."""
        operands = [operand()]
        while self.peek().kind == operator:
            self.take()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else combine(tuple(operands))

    def negation(self) -> Node:
        if self.peek().kind == "NOT":
            self.take()
            return Not(self.negation())
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "(":
            node = self.disjunction()
            closing = self.take()
            if closing.kind != ")":
                raise ExpressionError(f"missing ')' for the '(' at {token.position}",
                                      closing.position)
            return node
        if token.kind == "term":
            return self.term(token)
        found = "the end" if token.kind == "end" else repr(token.text)
        raise ExpressionError(f"expected a term or '(', found {found}", token.position)

    def term(self, token: _Token) -> Term:
        index = self.vocabulary.find(token.text)
        if index is not None:
            return Term(self.vocabulary.terms[index], index)
        message = f"unknown term {token.text!r}"
        close = self.vocabulary.close_matches(token.text.casefold())
        words = token.text.split(" ")
        if close:
            message += f"; did you mean {', '.join(map(repr, close))}?"
        elif len(words) > 1 and all(self.vocabulary.find(w) is not None for w in words):
            message += "; join separate terms with AND or OR"
        raise ExpressionError(message, token.position)


def parse(text: str, vocabulary: Vocabulary) -> Node:
    """Parse a term expression against a vocabulary.

    Parameters
    ----------
    text : str
        The expression (see the module docstring for its grammar).
    vocabulary : Vocabulary
        Terms the expression may name.

    Returns
    -------
    Term, Not, And or Or
        The expression tree; its ``select(column)`` gives the studies it selects.

    Raises
    ------
    ExpressionError
        Naming the token at fault and its position: an empty expression, an unknown term,
        a missing or unmatched parenthesis, an unterminated quote, or an operator without
        an operand.
    """
    return _Parser(text, vocabulary).expression()
