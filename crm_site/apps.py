"""Third-party apps as this site shows them: under names that translate, with admin
columns labelled in words (their own admins name some columns after a method or a
property, which no catalogue can translate)."""

from axes.apps import AppConfig as AxesConfig
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_celery_beat.apps import BeatConfig


class LoginLockoutsConfig(AxesConfig):
    """django-axes: failed logins and the lockouts they cause (登录锁定)."""

    verbose_name = _("Login lockouts")

    def ready(self):
        super().ready()
        from axes.admin import AccessAttemptAdmin
        from axes.models import AccessAttempt

        class AccessAttemptAdminWithLabels(AccessAttemptAdmin):
            @admin.display(description=_("Status"))
            def status(self, attempt):
                return super().status(attempt)

        reregister(AccessAttempt, AccessAttemptAdminWithLabels)


class PeriodicTasksConfig(BeatConfig):
    """django-celery-beat: the schedule of the nightly pipeline, edited in the admin."""

    def ready(self):
        super().ready()
        from django_celery_beat.admin import CrontabScheduleAdmin, PeriodicTaskAdmin
        from django_celery_beat.models import CrontabSchedule, PeriodicTask

        class PeriodicTaskAdminWithLabels(PeriodicTaskAdmin):
            @admin.display(description=_("Schedule"))
            def scheduler(self, task):
                return task.scheduler

        class CrontabScheduleAdminWithLabels(CrontabScheduleAdmin):
            @admin.display(description=_("In words"))
            def human_readable(self, schedule):
                return schedule.human_readable

        reregister(PeriodicTask, PeriodicTaskAdminWithLabels)
        reregister(CrontabSchedule, CrontabScheduleAdminWithLabels)


def reregister(model, model_admin):
    """Replace the admin the app registered for `model` by `model_admin`."""
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
