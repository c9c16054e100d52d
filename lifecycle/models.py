"""Five-stage customer lifecycle (客户生命周期): the tunable rule, each run's stages, the
stage each customer is in now, and the trail of every change (the rule's or a person's)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers import ranges
from customers.singletons import SingletonSettings
from customers.snapshots import RunSnapshot
from lifecycle import rules

# A customer is lost after this many of their usual intervals at most: beyond it the
# rule would never call anyone lost.
MAX_INTERVALS = 100
INTERVALS_MESSAGE = ranges.interpolate_lazy(
    _("Enter a number of intervals from 1 to %(most)s."), {"most": MAX_INTERVALS}
)
QUARTERS_MESSAGE = ranges.interpolate_lazy(
    _("Enter a number of quarters from 1 to %(most)s."), {"most": rules.QUARTERS_SEEN}
)
SHARE_MESSAGE = _("Enter a share from 0 to 1.")


class Stage(models.TextChoices):
    POTENTIAL = rules.POTENTIAL, _("Potential")
    DEVELOPMENT = rules.DEVELOPMENT, _("Development")
    GROWTH = rules.GROWTH, _("Growth")
    MATURITY = rules.MATURITY, _("Maturity")
    TERMINATION = rules.TERMINATION, _("Termination")


class LifecycleSettings(SingletonSettings):
    """The lifecycle rule's thresholds (lifecycle.rules); one row, edited in admin."""

    new_days = models.PositiveIntegerField(
        _("new for (days)"),
        default=rules.Rules.new_days,
        validators=ranges.days_validators(least=1),
        help_text=_(
            "A customer whose first order (or whose win-back) is at most this many days old "
            "is in development."
        ),
    )
    repeat_orders = models.PositiveIntegerField(
        _("repeat orders to grow"),
        default=rules.Rules.repeat_orders,
        validators=ranges.count_validators(),
        help_text=_("A customer with fewer repeat orders than this is still in development."),
    )
    mature_days = models.PositiveIntegerField(
        _("mature after (days)"),
        default=rules.Rules.mature_days,
        validators=ranges.days_validators(least=1),
        help_text=_("Maturity needs at least this many days since the first order…"),
    )
    mature_quarters = models.PositiveIntegerField(
        _("quarters with orders"),
        default=rules.Rules.mature_quarters,
        validators=[
            MinValueValidator(1, QUARTERS_MESSAGE),
            MaxValueValidator(rules.QUARTERS_SEEN, QUARTERS_MESSAGE),
        ],
        help_text=_(
            "…orders in at least this many of the last eight quarters, a key or ordinary "
            "value tier…"
        ),
    )
    mature_spend_share = models.FloatField(
        _("spend kept (share)"),
        default=rules.Rules.mature_spend_share,
        validators=[MinValueValidator(0.0, SHARE_MESSAGE), MaxValueValidator(1.0, SHARE_MESSAGE)],
        help_text=_("…and spend over the last year at least this share of the year before."),
    )
    lost_after_intervals = models.FloatField(
        _("lost after (usual intervals)"),
        default=rules.Rules.lost_after_intervals,
        validators=[
            MinValueValidator(1.0, INTERVALS_MESSAGE),
            MaxValueValidator(MAX_INTERVALS, INTERVALS_MESSAGE),
        ],
        help_text=_(
            "A customer counts as lost after this many of their usual intervals between "
            "orders without an order…"
        ),
    )
    lost_after_days = models.PositiveIntegerField(
        _("lost after (days at least)"),
        default=rules.Rules.lost_after_days,
        validators=ranges.days_validators(least=1),
        help_text=_("…and never before this many days without an order."),
    )
    snapshots_kept = models.PositiveIntegerField(
        _("snapshots kept"),
        default=7,
        validators=ranges.count_validators(most=ranges.MAX_SNAPSHOTS),
        help_text=_("How many published runs keep their customers' stages."),
    )

    class Meta:
        verbose_name = _("lifecycle settings")
        verbose_name_plural = _("lifecycle settings")
        constraints = [
            ranges.days_check("lifecyclesettings", "new_days", least=1),
            ranges.count_check("lifecyclesettings", "repeat_orders"),
            ranges.days_check("lifecyclesettings", "mature_days", least=1),
            ranges.check(
                ranges.between("mature_quarters", 1, rules.QUARTERS_SEEN),
                name="lifecyclesettings_mature_quarters_range",
                message=QUARTERS_MESSAGE,
            ),
            ranges.check(
                ranges.between("mature_spend_share", 0, 1),
                name="lifecyclesettings_mature_spend_share_range",
                message=SHARE_MESSAGE,
            ),
            ranges.check(
                ranges.between("lost_after_intervals", 1, MAX_INTERVALS),
                name="lifecyclesettings_lost_after_intervals_range",
                message=INTERVALS_MESSAGE,
            ),
            ranges.days_check("lifecyclesettings", "lost_after_days", least=1),
            ranges.count_check("lifecyclesettings", "snapshots_kept", most=ranges.MAX_SNAPSHOTS),
        ]

    def clean(self):
        if (
            self.new_days is not None
            and self.mature_days is not None
            and self.mature_days <= self.new_days
        ):
            raise ValidationError(
                {
                    "mature_days": _("Maturity must take longer than being new (%(days)s days).")
                    % {"days": self.new_days}
                }
            )

    def rules(self) -> rules.Rules:
        return rules.Rules(
            new_days=self.new_days,
            repeat_orders=self.repeat_orders,
            mature_days=self.mature_days,
            mature_quarters=self.mature_quarters,
            mature_spend_share=self.mature_spend_share,
            lost_after_intervals=self.lost_after_intervals,
            lost_after_days=self.lost_after_days,
        )


class StageSnapshot(RunSnapshot):
    """A customer's stage in one run, as published (locks and win-backs applied), or as a
    run kept aside would have had it."""

    stage = models.CharField(_("stage"), max_length=12, choices=Stage)
    # What the rule alone says; differs from the stage under a lock or a win-back.
    rule_stage = models.CharField(_("stage by the rule"), max_length=12, choices=Stage)
    won_back = models.BooleanField(_("won back in this run"), default=False)

    class Meta:
        verbose_name = _("customer stage in a run")
        verbose_name_plural = _("customer stages in runs")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer"], name="stagesnapshot_run_customer_uniq"
            ),
        ]
        indexes = [models.Index(fields=["run", "stage"], name="stagesnapshot_run_stage_idx")]

    def __str__(self):
        return f"{self.customer_id}: {self.stage}"


class CustomerStage(models.Model):
    """The stage a customer is in now: moved by the published runs where no lock holds,
    and by hand."""

    customer = models.OneToOneField(
        "customers.Customer",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="lifecycle_stage",
        verbose_name=_("customer"),
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage)
    since = models.DateField(_("in this stage since"))
    locked_until = models.DateField(
        _("locked until"),
        null=True,
        blank=True,
        help_text=_("The nightly rule leaves the stage as set up to this date."),
    )
    # The last win-back (客户再生): development runs from it as from a first order.
    restarted = models.DateField(_("won back on"), null=True, blank=True)

    class Meta:
        verbose_name = _("customer stage")
        verbose_name_plural = _("customer stages")
        indexes = [models.Index(fields=["stage"], name="customerstage_stage_idx")]

    def __str__(self):
        return f"{self.customer_id}: {self.stage}"

    def is_locked(self, on):
        return self.locked_until is not None and self.locked_until >= on


class StageChange(models.Model):
    """One change of a customer's stage, dated by the run's as-of date (or the day of a
    change by hand). The first stage a customer gets has no old stage and is no flow."""

    class Source(models.TextChoices):
        RULE = "rule", _("Nightly rule")
        HAND = "hand", _("By hand")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="stage_changes",
        verbose_name=_("customer"),
    )
    run = models.ForeignKey(
        "customers.PipelineRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pipeline run"),
    )
    on = models.DateField(_("as of"))
    old_stage = models.CharField(_("from"), max_length=12, choices=Stage, blank=True)
    new_stage = models.CharField(_("to"), max_length=12, choices=Stage)
    source = models.CharField(_("source"), max_length=4, choices=Source)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    locked_until = models.DateField(_("locked until"), null=True, blank=True)
    # The value tier of the run that made the change: for a customer who enters termination,
    # the tier they were in as they were lost.
    value_tier = models.CharField(_("value tier then"), max_length=10, blank=True)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        ordering = ["-on", "-id"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        indexes = [
            models.Index(fields=["customer", "-on"], name="stagechange_customer_idx"),
            models.Index(fields=["on"], name="stagechange_on_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(source="rule") | ~Q(reason=""),
                name="stagechange_hand_has_reason",
                violation_error_message=_("A change by hand needs a reason."),
            ),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.on}: {self.old_stage or '–'} → {self.new_stage}"

    @property
    def is_win_back(self):
        return self.old_stage == Stage.TERMINATION and self.new_stage == Stage.DEVELOPMENT


class Playbook(models.Model):
    """What to do for customers in a stage, as admins write it; without it, the product's
    recommended actions (lifecycle.playbooks) in the reader's language."""

    stage = models.CharField(_("stage"), max_length=12, choices=Stage, unique=True)
    actions = models.TextField(
        _("recommended actions"),
        help_text=_("One action a line; shown on the file of every customer in the stage."),
    )

    class Meta:
        ordering = ["stage"]
        verbose_name = _("playbook")
        verbose_name_plural = _("playbooks")

    def __str__(self):
        return self.get_stage_display()

    def action_lines(self):
        return [line.strip() for line in self.actions.splitlines() if line.strip()]


class ContactRhythmSettings(SingletonSettings):
    """The contact rhythm (拜访节奏): how many days may pass between two contacts with a
    customer of each value tier, and the window of a festival visit (lifecycle.rhythm)."""

    key_days = models.PositiveIntegerField(
        _("key customers: contact every (days)"),
        default=30,
        validators=ranges.days_validators(least=1),
    )
    ordinary_days = models.PositiveIntegerField(
        _("ordinary customers: contact every (days)"),
        default=60,
        validators=ranges.days_validators(least=1),
    )
    small_days = models.PositiveIntegerField(
        _("small customers: contact every (days)"),
        default=90,
        validators=ranges.days_validators(least=1),
        help_text=_("Also for customers without a value tier (no order yet)."),
    )
    festival_days = models.PositiveIntegerField(
        _("festival visit window (days)"),
        default=30,
        validators=ranges.days_validators(least=1),
        help_text=_(
            "Before New Year's Day and the Spring Festival, a customer not contacted within "
            "this many days before the festival is on its visit list."
        ),
    )

    class Meta:
        verbose_name = _("contact rhythm settings")
        verbose_name_plural = _("contact rhythm settings")
        constraints = [
            ranges.days_check("contactrhythmsettings", "key_days", least=1),
            ranges.days_check("contactrhythmsettings", "ordinary_days", least=1),
            ranges.days_check("contactrhythmsettings", "small_days", least=1),
            ranges.days_check("contactrhythmsettings", "festival_days", least=1),
        ]

    def interval_days(self) -> dict:
        """{value tier code: days}; customers without a tier take the small customers'."""
        return {"key": self.key_days, "ordinary": self.ordinary_days, "small": self.small_days}
