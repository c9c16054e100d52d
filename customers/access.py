"""Roles. Who may see which customers is decided in one place,
`Customer.objects.visible_to(user)`; these helpers answer what a user is."""


def can_see_all_customers(user):
    return user.is_superuser or user.has_perm("customers.view_all_customers")


def is_admin(user):
    return user.is_authenticated and user.is_superuser


def managed_team_ids(user):
    """Ids of the teams the user manages, read once per request."""
    cached = getattr(user, "_managed_team_ids", None)
    if cached is None:
        cached = user._managed_team_ids = list(user.managed_teams.values_list("pk", flat=True))
    return cached


def is_manager(user):
    """Managers lead at least one team; admins count as managers everywhere."""
    if not user.is_authenticated:
        return False
    return can_see_all_customers(user) or bool(managed_team_ids(user))


def can_start_runs(user):
    """Starting a pipeline run changes data for every team: admins may, and whoever they
    grant the permission to."""
    return user.is_authenticated and user.has_perm("customers.run_pipeline")


def can_see_runs(user):
    """Managers follow the runs (their dates, status and timings), as does whoever may start
    one; what the runs add up to company-wide is for those who see every customer."""
    return is_manager(user) or can_start_runs(user)
