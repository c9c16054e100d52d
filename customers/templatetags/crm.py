from django import template

register = template.Library()


@register.filter
def person(user, empty="—"):
    """A user's display name: full name, else username; `empty` when there is no user."""
    if user is None:
        return empty
    return user.get_full_name() or user.get_username()
