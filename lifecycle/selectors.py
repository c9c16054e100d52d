"""Reads of the lifecycle that pages, lists and other apps share."""

from lifecycle.models import CustomerStage, Stage, StageChange


def win_backs():
    """The win-backs (客户再生): the nightly rule taking a customer who ordered again from
    termination back to development, one row each time."""
    return StageChange.objects.filter(
        source=StageChange.Source.RULE,
        old_stage=Stage.TERMINATION,
        new_stage=Stage.DEVELOPMENT,
    )


# Changes shown on the customer file, newest first.
PANEL_CHANGES = 10


def stage_panel(customer, user):
    """The customer's stage, its lock, the stage's playbook and the latest changes. Three
    queries, and one for a manager's teams (read once per request)."""
    from lifecycle.playbooks import playbook_for
    from lifecycle.services import can_change_stage

    live = CustomerStage.objects.filter(customer=customer).first()
    changes = list(
        StageChange.objects.filter(customer=customer).select_related("changed_by")[:PANEL_CHANGES]
    )
    return {
        "live": live,
        "playbook": playbook_for(live.stage) if live is not None else [],
        "changes": changes,
        "can_change": can_change_stage(user, customer),
    }
