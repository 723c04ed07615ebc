"""CSV files a person opens in a spreadsheet: no cell becomes a live formula (OWASP, CSV
injection), in every CSV the product writes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

# What a spreadsheet reads as the start of a formula (OWASP: = + - @ tab CR), the same after
# leading spaces, and the fullwidth forms some spreadsheets take for the ASCII ones.
HOSTILE = ["=HYPERLINK(\"http://x.test\",\"see\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
           "\t=1+1", "\r=1+1", "  =1+1", "\u00a0@SUM(A1)", "\uff1d1+1", "\n=1+1"]
FORMULA_CHARACTERS = "=+-@\uff1d\uff0b\uff0d\uff20"
PLAIN = ["Alex", "Dr. Chris", "O'Brien", "a=b", "2026-11-16", "18:00", "", "email@x.test"]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _csv(header: list[str], rows: list[list[object]]) -> list[list[str]]:
    from companion.core import spreadsheet_csv

    return _cells(spreadsheet_csv.csv_text(header, rows))


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_would_start_a_formula_is_read_as_text(value):
    assert _csv(["name"], [[value]])[1] == ["'" + value]


@pytest.mark.parametrize("value", PLAIN)
def test_other_cells_are_written_as_they_are(value):
    assert _csv(["name"], [[value]])[1] == [value]


def test_numbers_stay_numbers():
    # A negative number the product writes itself is a value, not a formula.
    assert _csv(["a", "b", "c"], [[-3, 180, None]])[1] == ["-3", "180", ""]


def starts_a_formula(cell: str) -> bool:
    """What a spreadsheet would evaluate (a leading quote makes the cell text)."""
    first = cell.lstrip()[:1]
    return cell[:1] in ("\t", "\r", "\n") or (first != "" and first in FORMULA_CHARACTERS)


def test_every_csv_of_the_product_is_written_by_the_shared_writer():
    # A CSV written with the csv module directly would skip the neutralising: every export,
    # the attendance week and any later one (billing), goes through companion.core.spreadsheet_csv.
    package = Path(__file__).resolve().parents[2] / "companion"
    direct = [
        str(path.relative_to(package.parent)) for path in package.rglob("*.py")
        if path.name != "spreadsheet_csv.py"
        and re.search(r"^\s*(import csv|from csv import)", path.read_text(), re.M)
    ]
    assert direct == []
