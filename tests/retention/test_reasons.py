import pytest
from django.utils import timezone, translation

from retention.reasons import reason_texts, reasons_in_english

THIS_YEAR = timezone.localdate().year


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ({"code": "late", "params": {"days": 95, "interval": 30}}, "last order 95 days ago; usually every 30 days"),
        ({"code": "late", "params": {"days": 1, "interval": 1}}, "last order 1 day ago; usually every 1 day"),
        ({"code": "single_order", "params": {"days": 200}}, "bought only once, 200 days ago"),
        ({"code": "spend_down", "params": {"percent": 60, "days": 90}}, "spend down 60 % on the previous quarter"),
        ({"code": "spend_down", "params": {"percent": 25, "days": 30}}, "spend down 25 % on the previous 30 days"),
        (
            {"code": "orders_down", "params": {"recent": 0, "previous": 1, "days": 90}},
            "0 orders in the last 90 days against 1 order before",
        ),
        (
            {"code": "complaint", "params": {"count": 1, "since": f"{THIS_YEAR}-05-03"}},
            "open complaint since May 3",
        ),
        (
            {"code": "complaint", "params": {"count": 2, "since": "2019-05-03"}},
            "2 open complaints, the oldest since May 3, 2019",
        ),
        ({"code": "grade_fell", "params": {"old": "B", "new": "C"}}, "credit grade fell from B to C"),
        ({"code": "grade_poor", "params": {"grade": "D"}}, "credit grade D"),
    ],
)  # fmt: skip
def test_each_reason_reads_as_a_sentence(reason, text):
    with translation.override("en"):
        assert reason_texts([reason]) == [text]


def test_unknown_or_broken_reasons_are_left_out():
    stored = [
        {"code": "astrology", "params": {}},
        {"code": "late", "params": {"days": 95}},  # interval missing
        "late",
        {"code": "grade_poor", "params": {"grade": "C"}},
    ]
    with translation.override("en"):
        assert reason_texts(stored) == ["credit grade C"]


def test_exports_join_the_reasons_in_english_whatever_the_language():
    stored = [
        {"code": "late", "params": {"days": 95, "interval": 30}},
        {"code": "grade_fell", "params": {"old": "B", "new": "C"}},
    ]
    with translation.override("zh-hans"):
        assert reasons_in_english(stored) == (
            "last order 95 days ago; usually every 30 days; credit grade fell from B to C"
        )


def test_reasons_are_read_from_json_text_too():
    with translation.override("en"):
        assert reason_texts('[{"code": "single_order", "params": {"days": 3}}]') == [
            "bought only once, 3 days ago"
        ]
