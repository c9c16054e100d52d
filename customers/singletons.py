"""One-row settings: the tunable values of a rule or a nightly step, edited in admin.

A subclass declares its fields with defaults; `current()` reads the row, or the
defaults while nobody has saved one, so a step or a page always has the values in
force. The admin (customers.admin.SingletonSettingsAdmin) shows that row's form
where the list would be, and offers no second row and no delete.
"""

from django.db import models


class SingletonSettings(models.Model):
    """Abstract base of a settings model that has one row."""

    class Meta:
        abstract = True

    def __str__(self):
        return str(self._meta.verbose_name)

    @classmethod
    def saved(cls):
        """The saved row (the first, should there be more), or None."""
        return cls.objects.order_by("pk").first()

    @classmethod
    def current(cls):
        """The values in force: the saved row, else an unsaved row of the defaults (one
        query, no write, so any page or step may ask)."""
        row = cls.saved()
        return row if row is not None else cls()
