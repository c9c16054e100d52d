"""Binary COPY of the snapshot rows: the wire format by hand, and a round trip on PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from django.db import connection

from customers.bulk import copy_binary
from customers.models import PipelineRun
from customers.pgbinary import (
    Column,
    binary_stream,
    encode_rows,
    wire_order,
)
from segmentation.models import RfmScore
from segmentation.pipeline import SNAPSHOT_COLUMNS
from tests.factories import CustomerFactory


def be(value, width):
    return value.to_bytes(width, "big", signed=True)


def test_one_row_in_the_wire_format():
    frame = pd.DataFrame({"id": [7], "amount": [1234567], "name": ["key"], "score": [5]})
    columns = wire_order(
        [
            Column("id", "int8"),
            Column("amount", "cents"),
            Column("name", "text"),
            Column("score", "int2"),
        ]
    )
    # 12,345.67 as NUMERIC: digits 0000 0000 0001 2345 . 6700, weight 3, dscale 2.
    numeric = be(5, 2) + be(3, 2) + be(0, 2) + be(2, 2)
    numeric += b"".join(be(digit, 2) for digit in (0, 0, 1, 2345, 6700))
    expected = (
        be(4, 2)
        + be(8, 4)
        + be(7, 8)
        + be(len(numeric), 4)
        + numeric
        + be(2, 4)
        + be(5, 2)
        + be(3, 4)
        + b"key"
    )
    assert [column.name for column in columns] == ["id", "amount", "score", "name"]
    assert encode_rows(frame, columns).tobytes() == expected


def test_rows_keep_their_order_with_texts_of_different_lengths():
    frame = pd.DataFrame({"n": [1, 2, 3], "a": ["xy", "", "xy"], "b": ["q", "rrr", "s"]})
    columns = [Column("n", "int2"), Column("a", "text"), Column("b", "text")]

    def row(n, a, b):
        return be(3, 2) + be(2, 4) + be(n, 2) + be(len(a), 4) + a + be(len(b), 4) + b

    assert encode_rows(frame, columns).tobytes() == row(1, b"xy", b"q") + row(2, b"", b"rrr") + row(
        3, b"xy", b"s"
    )


def test_text_columns_must_come_last():
    frame = pd.DataFrame({"a": ["x"], "n": [1]})
    with pytest.raises(ValueError):
        encode_rows(frame, [Column("a", "text"), Column("n", "int2")])


def test_stream_has_the_header_and_trailer_and_keeps_row_order_across_chunks():
    frame = pd.DataFrame({"n": range(5), "word": ["a", "bb", "a", "ccc", "bb"]})
    columns = [Column("n", "int4"), Column("word", "text")]
    stream = binary_stream(frame, columns, chunk_rows=2).getvalue()
    assert stream.startswith(b"PGCOPY\n\xff\r\n\x00" + bytes(8))
    assert stream.endswith(be(-1, 2))
    assert stream[19:-2] == encode_rows(frame, columns).tobytes()


def test_a_nullable_integer_is_written_as_null_without_value_bytes():
    frame = pd.DataFrame(
        {"rank": pd.array([3, None, 1], dtype="Int64"), "n": [7, 8, 9], "word": ["a", "bb", "a"]}
    )
    columns = [Column("rank", "int4", nullable=True), Column("n", "int2"), Column("word", "text")]

    def row(rank, n, word):
        rank_field = be(-1, 4) if rank is None else be(4, 4) + be(rank, 4)
        return be(3, 2) + rank_field + be(2, 4) + be(n, 2) + be(len(word), 4) + word

    assert encode_rows(frame, columns).tobytes() == (
        row(3, 7, b"a") + row(None, 8, b"bb") + row(1, 9, b"a")
    )


def test_negative_amounts_are_refused():
    frame = pd.DataFrame({"amount": [-1]})
    with pytest.raises(ValueError, match="negative"):
        encode_rows(frame, [Column("amount", "cents")])


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="binary COPY is PostgreSQL's")
def test_round_trip_through_the_snapshot_table():
    run = PipelineRun.objects.create(as_of=dt.date(2026, 6, 30), status="failed")
    customers = [CustomerFactory() for _ in range(4)]
    cents = [0, 1, 99_999, 12_345_678_901_234]
    frame = pd.DataFrame(
        {
            "run_id": run.pk,
            "customer_id": [customer.pk for customer in customers],
            "recency_days": [0, 1, 400, 70_000],
            "frequency": [0, 1, 2, 3],
            "monetary": cents,
            "r_score": [1, 2, 3, 5],
            "f_score": [5, 4, 3, 1],
            "m_score": [1, 1, 4, 5],
            "segment": pd.Categorical(["lost", "champions", "cant_lose", "lost"]),
            "value_tier": ["small", "small", "ordinary", "key"],
            # No spend, no rank.
            "value_rank": pd.array([None, 3, 2, 1], dtype="Int64"),
        }
    )
    assert copy_binary(RfmScore._meta.db_table, frame, SNAPSHOT_COLUMNS) == 4
    stored = list(
        RfmScore.objects.filter(run=run)
        .order_by("value_rank")
        .values_list("monetary", "segment", "value_tier", "recency_days")
    )
    assert stored == [
        (Decimal("123456789012.34"), "lost", "key", 70_000),
        (Decimal("999.99"), "cant_lose", "ordinary", 400),
        (Decimal("0.01"), "champions", "small", 1),
        (Decimal("0.00"), "lost", "small", 0),
    ]
    assert RfmScore.objects.get(run=run, customer=customers[0]).value_rank is None


def test_rows_read_back_from_the_wire_format():
    from customers.pgbinary import HEADER, TRAILER, decode_rows

    def field(value, width):
        return be(width, 4) + be(value, width)

    # 2026-03-01 is 9556 days after 2000-01-01 and 20513 after 1970-01-01.
    rows = [(7, 9556, 1234567), (8, -1, -5)]
    data = HEADER
    for number, day, cents in rows:
        data += be(3, 2) + field(number, 8) + field(day, 4) + field(cents, 8)
    data += TRAILER

    dated = decode_rows(data, [("id", "int8"), ("on", "date"), ("cents", "int8")])
    counted = decode_rows(data, [("id", "int8"), ("on", "days"), ("cents", "int8")])

    assert list(dated["id"]) == [7, 8] and list(dated["cents"]) == [1234567, -5]
    assert list(dated["on"]) == [pd.Timestamp("2026-03-01"), pd.Timestamp("1999-12-31")]
    assert list(counted["on"]) == [20513, 10956]
