"""The recommended actions of each stage, as the product ships them (translated); admins
replace a stage's actions with their own in the admin (lifecycle.models.Playbook)."""

from django.utils.translation import gettext_lazy as _

from lifecycle import rules
from lifecycle.models import Playbook

DEFAULT_ACTIONS = {
    rules.POTENTIAL: [
        _("Segment the market and pick the customers worth approaching"),
        _("Attract them through advertising"),
        _("Build awareness of our products"),
    ],
    rules.DEVELOPMENT: [
        _("Turn interest into transactions"),
        _("Grow the customer base"),
        _("Cross-sell through partners"),
    ],
    rules.GROWTH: [
        _("Collect information about the customer"),
        _("Offer membership and points"),
        _("Run member promotions"),
    ],
    rules.MATURITY: [
        _("Give premium service"),
        _("Market one to one"),
        _("Give key customers priority resources"),
    ],
    rules.TERMINATION: [
        _("List them by churn likelihood"),
        _("Plan key visits and contacts"),
        _("Win them back"),
    ],
}


def playbook_for(stage):
    """The actions shown for `stage`: the admins' if they wrote some, else the defaults."""
    written = Playbook.objects.filter(stage=stage).first()
    if written is not None and written.action_lines():
        return written.action_lines()
    return [str(action) for action in DEFAULT_ACTIONS.get(stage, [])]
