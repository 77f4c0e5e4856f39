"""Quote-aware TSV reading: multi-line fields, line numbers, gzip by content, headers."""

from __future__ import annotations

import csv
import gzip
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.records import ParseError
from ingest.tabular import TsvFile

# Field text as in titles and table names: tabs, newlines, quotes, non-breaking spaces
# (no lone CR: the csv writer does not quote it, and the releases have none).
field_text = st.text(alphabet=st.sampled_from(list("ab Z9-\t\n\"'\xa0é")), min_size=0, max_size=12)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(field_text, field_text), min_size=1, max_size=8))
def test_any_quoted_field_round_trips_with_its_start_line(tmp_path_factory, rows):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(["id", "title", "note"])
    starts = []
    for i, (title, note) in enumerate(rows):
        starts.append(buffer.getvalue().count("\n") + 1)
        writer.writerow([str(i), title, note])
    path = tmp_path_factory.mktemp("tsv") / "rows.tsv"
    path.write_bytes(buffer.getvalue().encode())
    with TsvFile(path, ["id", "title"]) as tsv:
        read = list(tsv.rows())
    assert [fields for _, fields in read] == [[str(i), t, n] for i, (t, n) in enumerate(rows)]
    assert [line for line, _ in read] == starts


def test_gzip_is_recognised_by_content_not_name(tmp_path):
    path = tmp_path / "plain-name.tsv"
    path.write_bytes(gzip.compress(b"id\ttitle\n1\tA\n"))
    with TsvFile(path, ["id"]) as tsv:
        assert list(tsv.rows()) == [(2, ["1", "A"])]


def test_header_with_bom_and_any_column_order(tmp_path):
    path = tmp_path / "bom.tsv"
    path.write_bytes("\ufefftitle\tid\r\nA\t1\r\n".encode())
    with TsvFile(path, ["id", "title"]) as tsv:
        assert tsv.columns == {"title": 0, "id": 1}
        assert list(tsv.rows()) == [(2, ["A", "1"])]


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("id\tname\n")
    with pytest.raises(ParseError, match=r"line 1: .*m\.tsv: header lacks column\(s\) title, x"):
        TsvFile(path, ["id", "title", "x"]).__enter__()


def test_blank_lines_are_empty_records(tmp_path):
    path = tmp_path / "b.tsv"
    path.write_text("id\ttitle\n1\tA\n\n2\tB\n")
    with TsvFile(path, ["id"]) as tsv:
        assert list(tsv.rows()) == [(2, ["1", "A"]), (3, []), (4, ["2", "B"])]


def test_runaway_quote_is_an_error_naming_its_line(tmp_path):
    path = tmp_path / "q.tsv"
    path.write_text('id\ttitle\n1\tA\n2\t"never closed\n' + "3\tC\n" * 20_000)
    with TsvFile(path, ["id"]) as tsv, pytest.raises(ParseError, match="line 3: .*q.tsv"):
        list(tsv.rows())
