"""Schedule the nightly pipeline at 02:00 local time (settings.TIME_ZONE).

The schedule is data, not code: admins change or pause it afterwards in the
admin under Periodic tasks (django-celery-beat).
"""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TASK_NAME = "Nightly pipeline"
TASK = "customers.nightly_pipeline"
AT = {"minute": "0", "hour": "2", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}


def _tell_beat_schedule_changed(apps):
    # Beat's DatabaseScheduler reloads when this row's timestamp moves; the model
    # signals that normally move it do not fire for historical models.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def schedule_nightly_pipeline(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(**AT, timezone=settings.TIME_ZONE)
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": TASK,
            "crontab": crontab,
            "enabled": True,
            "description": "Recompute balances, grades, segments and risks as of today.",
        },
    )
    _tell_beat_schedule_changed(apps)


def unschedule_nightly_pipeline(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=TASK_NAME).delete()
    CrontabSchedule.objects.filter(
        **AT, timezone=settings.TIME_ZONE, periodictask__isnull=True
    ).delete()
    _tell_beat_schedule_changed(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_search_indexes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(schedule_nightly_pipeline, unschedule_nightly_pipeline),
    ]
