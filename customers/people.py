"""The people and teams a user deals with: whom they may hand a customer to, whose
customers they may filter by, which teams they see. Read by selectors, filters and
forms alike, so that none of them imports another for it."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from customers.access import can_see_all_customers, managed_team_ids
from customers.models import Team


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
    """Owners offered in the list filter: the sales staff whose customers the user may see."""
    users = get_user_model().objects.all()
    if can_see_all_customers(user):
        return users.filter(
            Q(sales_teams__isnull=False) | Q(managed_teams__isnull=False)
        ).distinct()
    teams = managed_team_ids(user)
    return users.filter(
        Q(pk=user.pk) | Q(sales_teams__in=teams) | Q(managed_teams__in=teams)
    ).distinct()
