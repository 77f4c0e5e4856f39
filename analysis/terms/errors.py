"""Errors of the term engine: bad inputs, and expressions that do not parse."""


class TermsInputError(ValueError):
    """Inputs that do not fit together or cannot be analysed (the message names which)."""


class ExpressionError(TermsInputError):
    """A term expression that does not parse or names an unknown term.

    Attributes
    ----------
    position : int
        Offset in the expression text of the token at fault.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at position {position})")
        self.position = position
