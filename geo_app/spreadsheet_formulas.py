"""Spreadsheet cell safety, shared by every CSV/XLSX the service writes (downloads, layer builds,
import rejects): text a spreadsheet would run as a formula (``=cmd|' /C calc'!A0``, ``+``, ``-``,
``@``, tab, CR at the start) gets a leading apostrophe, so it shows as text (OWASP CSV injection)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+([.,]\d+)?")  # "-2,56" is a number, not a formula


def neutralise_text(text: str) -> str:
    if text.startswith(FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def neutralise(value: Any) -> Any:
    """A cell value safe for a spreadsheet: formula-like text is neutralised; lists become ``a; b``;
    None/NaN become empty; numbers, booleans and dates stay as they are."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, (bool, int, float, date, datetime)):
        return value
    return neutralise_text(str(value))
