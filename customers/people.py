"""People (the site's users): how they are named wherever they are shown, and whom a user
deals with (whom they may hand a customer to, whose customers they may filter by, which teams
they see). Read by selectors, filters and forms alike, so that none of them imports another
for it.

Chinese names read family name first without a space (张伟); other names read
"Given Family". A user without names is shown by their login."""

import django_filters
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, NullIf

from customers.access import can_see_all_customers, managed_team_ids
from customers.models import Team


def _has_cjk(text):
    return any("\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff" for char in text)


def display_name(user, empty=""):
    """The user's name as people read it; their username when they have no names;
    `empty` when there is no user."""
    if user is None:
        return empty
    given, family = user.first_name.strip(), user.last_name.strip()
    if not (given or family):
        return user.get_username()
    if _has_cjk(given + family):
        return f"{family}{given}"
    return f"{given} {family}".strip()


def by_name(users):
    """The users ordered by family name, then given name (those without names by their
    username among them)."""
    return users.order_by(
        Coalesce(NullIf(F("last_name"), Value("")), F("username")), "first_name", "username"
    )


class PersonChoiceField(forms.ModelChoiceField):
    """A choice of one user, offered by name."""

    def label_from_instance(self, obj):
        return display_name(obj)


class PersonFilter(django_filters.ModelChoiceFilter):
    """A list filter on one user, offered by name."""

    field_class = PersonChoiceField


def person_column(model, field):
    """An admin list column showing the user in `model`'s `field` by name, sorted by
    family name."""
    description = model._meta.get_field(field).verbose_name

    @admin.display(description=description, ordering=f"{field}__last_name")
    def column(obj):
        user = getattr(obj, field)
        return display_name(user) if user is not None else None

    column.__name__ = f"{field}_name"
    return column


def visible_teams(user):
    """The teams `user` sees: all for those who see every customer, else those they lead or
    belong to."""
    if can_see_all_customers(user):
        return Team.objects.all()
    return Team.objects.filter(Q(managers=user) | Q(members=user)).distinct()


def assignable_users(user):
    """People a customer may be handed to by `user`: members of the teams they may manage."""
    users = get_user_model().objects.filter(is_active=True)
    teams = Team.objects.all() if can_see_all_customers(user) else managed_team_ids(user)
    return users.filter(Q(sales_teams__in=teams) | Q(managed_teams__in=teams)).distinct()


def filterable_owners(user):
    """Owners offered in the list filter, by name: the sales staff whose customers the user
    may see."""
    users = get_user_model().objects.all()
    if can_see_all_customers(user):
        return by_name(
            users.filter(Q(sales_teams__isnull=False) | Q(managed_teams__isnull=False)).distinct()
        )
    teams = managed_team_ids(user)
    return by_name(
        users.filter(
            Q(pk=user.pk) | Q(sales_teams__in=teams) | Q(managed_teams__in=teams)
        ).distinct()
    )
