from django import template

from customers.people import display_name
from customers.pipeline import step_label as label_of_step

register = template.Library()


@register.filter
def person(user, empty="—"):
    """A user's name as people read it (see customers.people); `empty` without a user."""
    return display_name(user, empty=empty)


@register.filter
def step_label(name):
    """A pipeline step's name in words."""
    return label_of_step(name)
