"""CSV files a person opens in a spreadsheet (the biller's attendance week, later billing).

A text cell that starts like a formula is evaluated when the file is opened: a display name
such as ``=HYPERLINK(...)`` or ``@SUM(...)`` would run in the biller's spreadsheet (CSV
injection). Every CSV the product writes goes through ``csv_text``, which makes such cells text
as OWASP recommends: a single quote before them. tests/test_spreadsheet_csv.py fails when a
module writes CSV with the csv module directly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

# OWASP's list (= + - @ tab CR), line feed, and the fullwidth forms some spreadsheets read as
# the ASCII ones.
_FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def neutralise(value: Any) -> Any:
    """The cell as a spreadsheet will show it: text that would start a formula, quoted.

    Leading spaces do not help: spreadsheets skip them before looking for a formula. Numbers
    the product writes (ids, minutes) are values, not text, and stay as they are.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] in _FORMULA_STARTS or value.lstrip()[:1] in _FORMULA_STARTS:
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV document, every cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise(name) for name in header])
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return out.getvalue()
