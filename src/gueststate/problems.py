"""A located problem in a document, rendered the way compilers do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong at ``path:line:column``; line and column are 1-based, 0 when unknown."""

    path: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        # One problem, one line, whatever document text the message quotes.
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")
        return f"{self.path}:{self.line}:{self.column}: {message}"

    def as_dict(self) -> dict[str, int | str]:
        """The JSON shape used by ``gueststate validate --format json``."""
        return {"line": self.line, "column": self.column, "message": self.message}
