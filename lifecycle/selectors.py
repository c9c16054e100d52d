"""Reads of the lifecycle that pages, lists and other apps share."""

from lifecycle.models import Stage, StageChange


def win_backs():
    """The win-backs (客户再生): the nightly rule taking a customer who ordered again from
    termination back to development, one row each time."""
    return StageChange.objects.filter(
        source=StageChange.Source.RULE,
        old_stage=Stage.TERMINATION,
        new_stage=Stage.DEVELOPMENT,
    )
