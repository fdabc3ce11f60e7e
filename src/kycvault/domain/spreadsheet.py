"""CSV that is safe to open in a spreadsheet.

A cell starting with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some
spreadsheets skip before looking for one) is run as a formula when the file is opened: a
value a client stored (a name, a number) could then fetch a URL or run a command on the
reader's machine (CSV injection). Such a cell is prefixed with an apostrophe, which makes
the spreadsheet show it as text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value``, quoted with a leading apostrophe if a spreadsheet would run it."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_line(values: Iterable[Any]) -> str:
    """One CSV record (RFC 4180: CRLF line ends), every cell through ``safe_cell``; None is
    an empty cell."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(
        "" if value is None else safe_cell(value) for value in values
    )
    return out.getvalue()
