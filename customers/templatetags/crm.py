from django import template

from customers.pipeline import step_label as label_of_step

register = template.Library()


@register.filter
def person(user, empty="—"):
    """A user's display name: full name, else username; `empty` when there is no user.
    Chinese names read family name first, without a space (王伟, not 伟 王)."""
    if user is None:
        return empty
    first, last = user.first_name.strip(), user.last_name.strip()
    if not (first or last):
        return user.get_username()
    if any("\u4e00" <= char <= "\u9fff" for char in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


@register.filter
def step_label(name):
    """A pipeline step's name in words."""
    return label_of_step(name)
