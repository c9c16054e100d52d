"""Print the demo logins that exist: username, name, role, team and password hint."""

import unicodedata

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from customers.demo import DEFAULT_PASSWORD, STAFF


def display_width(text):
    """Columns the text takes in a terminal: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def table(rows):
    """Rows of strings as left-aligned columns."""
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell + " " * (width - display_width(cell))
            for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    ]


class Command(BaseCommand):
    @property
    def help(self):
        # A property: argparse needs a string, and the language is known only at run time.
        return _("Print the demo logins created by seed_demo, with their roles and teams.")

    def handle(self, *args, **options):
        by_name = {
            user.username: user
            for user in get_user_model()
            .objects.filter(username__in=[member.username for member in STAFF])
            .prefetch_related("managed_teams", "sales_teams")
        }
        users = [by_name[member.username] for member in STAFF if member.username in by_name]
        if not users:
            self.stdout.write(_("No demo logins yet: run seed_demo first."))
            return
        rows = [(_("Username"), _("Name"), _("Role"), _("Team"), _("Password"))]
        rows += [
            (user.username, user.last_name + user.first_name, role(user), teams(user), hint)
            for user, hint in zip(users, password_hints(users), strict=True)
        ]
        self.stdout.write(_("Demo logins:"))
        for line in table(rows):
            self.stdout.write("  " + line)


def role(user):
    if user.is_superuser:
        return _("Administrator")
    if user.managed_teams.all():
        return _("Manager")
    return _("Sales rep")


def teams(user):
    managed_or_member = list(user.managed_teams.all()) or list(user.sales_teams.all())
    return "、".join(team.name for team in managed_or_member) or "—"


def password_hints(users):
    """The demo password where it still opens the login, else a pointer to --password."""
    # Checking is slow by design; users sharing one hash (as seed_demo writes them) are checked once.
    is_default = {}
    hints = []
    for user in users:
        if user.password not in is_default:
            is_default[user.password] = user.check_password(DEFAULT_PASSWORD)
        hints.append(
            DEFAULT_PASSWORD if is_default[user.password] else _("(as set with --password)")
        )
    return hints
