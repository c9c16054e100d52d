"""Runs keep a heartbeat, who executes them, why the frame closed them and whether they
were kept aside as back-dated; beat closes runs whose worker stopped every two minutes
(a periodic task, changed or paused in the admin under Periodic tasks)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

STALE_CHECK_NAME = "Close pipeline runs whose worker stopped"
STALE_CHECK_TASK = "customers.close_stale_pipeline_runs"
EVERY = {"every": 2, "period": "minutes"}


def _tell_beat_schedule_changed(apps):
    # As in 0003: beat reloads when this row's timestamp moves.
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def schedule_stale_check(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = IntervalSchedule.objects.get_or_create(**EVERY)
    PeriodicTask.objects.update_or_create(
        name=STALE_CHECK_NAME,
        defaults={
            "task": STALE_CHECK_TASK,
            "interval": interval,
            "enabled": True,
            "description": "Close as failed the running pipeline runs without a heartbeat.",
        },
    )
    _tell_beat_schedule_changed(apps)


def unschedule_stale_check(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=STALE_CHECK_NAME).delete()
    IntervalSchedule.objects.filter(**EVERY, periodictask__isnull=True).delete()
    _tell_beat_schedule_changed(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0010_verbose_names_of_record_links'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='pipelinerun',
            name='closed_because',
            field=models.CharField(blank=True, choices=[('not_sent', 'the task queue could not be reached'), ('not_picked_up', 'no worker took it up'), ('worker_silent', 'its worker stopped answering'), ('too_long', 'it ran too long'), ('by_hand', 'closed by hand')], max_length=20, verbose_name='closed because'),
        ),
        migrations.AddField(
            model_name='pipelinerun',
            name='closed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='closed by'),
        ),
        migrations.AddField(
            model_name='pipelinerun',
            name='heartbeat_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='last sign of life'),
        ),
        migrations.AddField(
            model_name='pipelinerun',
            name='kept_aside_behind',
            field=models.DateField(blank=True, help_text='The date of the published run that this back-dated run was older than.', null=True, verbose_name='kept aside behind'),
        ),
        migrations.AddField(
            model_name='pipelinerun',
            name='worker',
            field=models.CharField(blank=True, help_text='Host and process executing it.', max_length=200, verbose_name='worker'),
        ),
        migrations.AlterField(
            model_name='pipelinerun',
            name='status',
            field=models.CharField(choices=[('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('kept_aside', 'Kept aside (back-dated)')], default='running', max_length=10, verbose_name='status'),
        ),
        migrations.RunPython(schedule_stale_check, unschedule_stale_check),
    ]
