"""Counting a pattern's scans: how tests show work linear without timing it."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any


class ScanCount:
    """A compiled pattern that counts its ``finditer`` calls and the characters they scan."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.calls = 0
        self.scanned = 0

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[Any]:
        self.calls += 1
        self.scanned += min(endpos, len(text)) - pos
        return self.pattern.finditer(text, pos, endpos)
