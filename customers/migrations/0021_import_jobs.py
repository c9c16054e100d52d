"""Imports uploaded in the admin run as jobs on a worker; beat closes the jobs whose worker
stopped every two minutes (a periodic task, changed or paused in the admin under
Periodic tasks)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

STALE_CHECK_NAME = "Close import jobs whose worker stopped"
STALE_CHECK_TASK = "customers.close_stale_import_jobs"
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
            "description": "Close as failed the running import jobs without a heartbeat.",
        },
    )
    _tell_beat_schedule_changed(apps)


def unschedule_stale_check(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=STALE_CHECK_NAME).delete()
    _tell_beat_schedule_changed(apps)


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0020_customer_merge'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ImportJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('customers', 'Customers'), ('orders', 'Orders (purchases)'), ('invoices', 'Invoices (receivables)'), ('payments', 'Payments received')], max_length=20, verbose_name='what the file holds')),
                ('source_name', models.CharField(max_length=255, verbose_name='file name')),
                ('stored_name', models.CharField(max_length=100, verbose_name='stored as')),
                ('file_size', models.PositiveBigIntegerField(default=0, verbose_name='file size (bytes)')),
                ('skip_invalid', models.BooleanField(default=False, verbose_name='skip the rows with errors')),
                ('dry_run', models.BooleanField(default=False, help_text='Check the whole file and write nothing.', verbose_name='check only')),
                ('status', models.CharField(choices=[('queued', 'Waiting for a worker'), ('checking', 'Checking the whole file'), ('writing', 'Writing'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=10, verbose_name='status')),
                ('rows_checked', models.PositiveBigIntegerField(default=0, verbose_name='rows checked')),
                ('rows_written', models.PositiveBigIntegerField(default=0, verbose_name='rows written')),
                ('counts', models.JSONField(blank=True, default=dict, verbose_name='counts')),
                ('rejects_name', models.CharField(blank=True, max_length=100, verbose_name='rejects file')),
                ('error', models.TextField(blank=True, verbose_name='error')),
                ('language', models.CharField(blank=True, max_length=10, verbose_name='language')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='queued')),
                ('started_at', models.DateTimeField(blank=True, null=True, verbose_name='started')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('heartbeat_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='last sign of life')),
                ('worker', models.CharField(blank=True, max_length=200, verbose_name='worker')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='uploaded by')),
            ],
            options={
                'verbose_name': 'import job',
                'verbose_name_plural': 'import jobs',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['created_by', '-created_at'], name='importjob_by_created_idx'), models.Index(condition=models.Q(('status__in', ['queued', 'checking', 'writing'])), fields=['status'], name='importjob_unfinished_idx')],
            },
        ),
        migrations.RunPython(schedule_stale_check, unschedule_stale_check),
    ]
