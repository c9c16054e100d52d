"""{{ score.reasons|reason_texts }} and {% follow_up_reminder %} for the retention pages."""

from django import template

from retention import reasons, selectors

register = template.Library()


@register.filter
def reason_texts(stored):
    """Stored churn reasons as sentences in the active language."""
    return reasons.reason_texts(stored)


@register.inclusion_tag("retention/_plans_reminder.html", takes_context=True)
def follow_up_reminder(context):
    """Overdue plans the viewer answers for, shown on the retention pages."""
    return selectors.overdue_plans(context["request"].user)
