"""Ship the festival calendar filled: 元旦, 春节 and 中秋 of 2020–2035."""

import datetime as dt

from django.db import migrations

SPRING = [
    "2020-01-25", "2021-02-12", "2022-02-01", "2023-01-22", "2024-02-10", "2025-01-29",
    "2026-02-17", "2027-02-06", "2028-01-26", "2029-02-13", "2030-02-03", "2031-01-23",
    "2032-02-11", "2033-01-31", "2034-02-19", "2035-02-08",
]  # fmt: skip
MID_AUTUMN = [
    "2020-10-01", "2021-09-21", "2022-09-10", "2023-09-29", "2024-09-17", "2025-10-06",
    "2026-09-25", "2027-09-15", "2028-10-03", "2029-09-22", "2030-09-12", "2031-10-01",
    "2032-09-19", "2033-09-08", "2034-09-27", "2035-09-16",
]  # fmt: skip


def festivals():
    yield from (("new_year", dt.date(year, 1, 1)) for year in range(2020, 2036))
    yield from (("spring", dt.date.fromisoformat(day)) for day in SPRING)
    yield from (("mid_autumn", dt.date.fromisoformat(day)) for day in MID_AUTUMN)


def fill(apps, schema_editor):
    Festival = apps.get_model("retention", "Festival")
    for kind, date in festivals():
        Festival.objects.get_or_create(kind=kind, date=date)


def empty(apps, schema_editor):
    Festival = apps.get_model("retention", "Festival")
    for kind, date in festivals():
        Festival.objects.filter(kind=kind, date=date).delete()


class Migration(migrations.Migration):
    dependencies = [("retention", "0005_learned_churn")]

    operations = [migrations.RunPython(fill, empty)]
