"""Roles. Who may see which customers is decided in one place,
`Customer.objects.visible_to(user)`; these helpers answer what a user is."""


def can_see_all_customers(user):
    return user.is_superuser or user.has_perm("customers.view_all_customers")


def is_admin(user):
    return user.is_authenticated and user.is_superuser


def is_manager(user):
    """Managers lead at least one team; admins count as managers everywhere."""
    if not user.is_authenticated:
        return False
    if can_see_all_customers(user):
        return True
    cached = getattr(user, "_is_manager", None)
    if cached is None:
        cached = user._is_manager = user.managed_teams.exists()
    return cached


def can_run_pipeline(user):
    return is_manager(user) or user.has_perm("customers.run_pipeline")
