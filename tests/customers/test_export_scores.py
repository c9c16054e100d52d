"""`export_scores`: codes for machines by default (--codes), words with --labels."""

import csv
import datetime as dt
from io import StringIO

from django.core.management import call_command
from django.utils import translation

from lifecycle.models import CustomerStage, Stage


def export(*options):
    out = StringIO()
    call_command("export_scores", *options, stdout=out)
    return list(csv.reader(StringIO(out.getvalue())))


def test_default_and_codes_write_the_codes(cast):
    CustomerStage.objects.create(
        customer=cast.rep_customer, stage=Stage.GROWTH, since=dt.date(2026, 1, 1)
    )
    rows = export()
    assert rows == export("--codes")
    header = rows[0]
    assert header[:4] == ["customer_ref", "credit_grade", "suggested_grade", "grade_locked"]
    assert header[-1] == "credit_history"
    row = next(r for r in rows if r[0] == cast.rep_customer.external_ref)
    assert row[header.index("grade_locked")] == "false"
    assert row[header.index("lifecycle_stage")] == "growth"


def test_labels_name_columns_and_values_in_chinese(cast):
    CustomerStage.objects.create(
        customer=cast.rep_customer, stage=Stage.GROWTH, since=dt.date(2026, 1, 1)
    )
    rows = export("--labels", "--language", "zh-hans")
    header = rows[0]
    assert header[:2] == ["客户编号", "信用等级"]
    assert len(header) == len(export()[0])
    row = next(r for r in rows if r[0] == cast.rep_customer.external_ref)
    with translation.override("zh-hans"):
        stage_label, stage_column, no = str(Stage.GROWTH.label), "客户生命周期阶段", "否"
    assert row[header.index(stage_column)] == stage_label
    assert row[header.index("等级已锁定")] == no


def test_labels_in_english_when_asked(cast):
    header = export("--labels", "--language", "en")[0]
    assert header[:2] == ["Customer number", "Credit grade"]


def test_a_rep_exports_only_their_customers_in_words(cast):
    rows = export("--labels", "--user", "rep", "--language", "zh-hans")
    assert [r[0] for r in rows[1:]] == [cast.rep_customer.external_ref]
