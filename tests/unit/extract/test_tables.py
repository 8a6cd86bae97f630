"""Tables rendered as text (tables.py): cells split by tabs, runs of spaces or '|', bare numbers given their
unit by a unit column, a bracketed unit in the header or the row label, and signed changes."""

from __future__ import annotations

from services.extract.sentences import is_table_row


def test_table_rows() -> None:
    assert is_table_row("指标 | 2022年 | 2023年") and not is_table_row("甲|乙")
