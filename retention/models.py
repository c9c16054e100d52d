"""Retention (客户保留): churn-risk snapshots, follow-up plans (重点拜访/联系计划) and
the episodes that tell whether a customer at risk was retained or won back (客户再生)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers import ranges
from customers.models import Interaction
from customers.singletons import SingletonSettings
from customers.snapshots import RunSnapshot


class RetentionSettings(SingletonSettings):
    """The tunable thresholds of the churn step; one row, edited in admin."""

    high_risk = models.FloatField(
        _("high risk from"),
        default=0.6,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Customers with a churn risk at or above this (0–1) are high risk."),
    )
    medium_risk = models.FloatField(
        _("medium risk from"),
        default=0.3,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("Customers with a churn risk at or above this (0–1) are medium risk."),
    )
    snapshots_kept = models.PositiveIntegerField(
        _("snapshots kept"),
        default=7,
        validators=ranges.count_validators(most=ranges.MAX_SNAPSHOTS),
        help_text=_("How many published runs keep their churn scores."),
    )

    class Meta:
        verbose_name = _("retention settings")
        verbose_name_plural = _("retention settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(medium_risk__gte=0)
                & Q(high_risk__gt=F("medium_risk"))
                & Q(high_risk__lte=1),
                name="retention_risk_bands_ordered",
                violation_error_message=_("The thresholds must satisfy 0 ≤ medium < high ≤ 1."),
            ),
            ranges.count_check("retentionsettings", "snapshots_kept", most=ranges.MAX_SNAPSHOTS),
        ]

    def clean(self):
        if (
            self.high_risk is not None
            and self.medium_risk is not None
            and self.high_risk <= self.medium_risk
        ):
            raise ValidationError(
                {
                    "high_risk": _("High risk must start above medium risk (%(medium)s).")
                    % {"medium": self.medium_risk}
                }
            )


class Band(models.TextChoices):
    HIGH = "high", _("High risk")
    MEDIUM = "medium", _("Medium risk")
    LOW = "low", _("Low risk")


class ChurnScore(RunSnapshot):
    """One customer's churn risk in one run, with its top reasons.

    Customers with no order up to the run's date have no row. The run and customer
    keys are not enforced by the database (see customers.snapshots.RunSnapshot):
    checking two constraints on each of a million rows COPYed nightly costs more than
    the indexes (measured: 22 µs a row). The customer is found by the unique
    (customer, run) index; the run by the indexes that start with it.
    """

    risk = models.FloatField(_("churn risk"))
    band = models.CharField(_("risk band"), max_length=6, choices=Band)
    value = models.DecimalField(_("customer value"), max_digits=16, decimal_places=2)
    value_at_risk = models.DecimalField(_("value at risk"), max_digits=16, decimal_places=2)
    # Copied from segmentation's snapshot of the same run, so that the list filters on
    # one table; empty when that step did not score the customer.
    value_tier = models.CharField(_("value tier"), max_length=10, blank=True)
    # [{"code": "late", "params": {"days": 95, "interval": 30}}, …], strongest first;
    # put into words when shown (retention.reasons), so that each reader gets their language.
    reasons = models.JSONField(_("reasons"), default=list)

    class Meta:
        verbose_name = _("churn score")
        verbose_name_plural = _("churn scores")
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "run"], name="churnscore_customer_run_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["run", "-value_at_risk", "id"], name="churnscore_run_var_idx"),
            models.Index(
                fields=["run", "band", "-value_at_risk", "id"], name="churnscore_run_band_idx"
            ),
        ]

    def __str__(self):
        return f"{self.customer_id}: {self.risk:.2f}"


class FollowUpPlan(models.Model):
    """A planned visit or call to a customer at risk (重点拜访/联系计划) and its outcome."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        CANCELLED = "cancelled", _("Cancelled")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached the customer")
        ORDERED = "ordered", _("Customer ordered again")
        NO_ANSWER = "no_answer", _("Could not reach them")
        LOST = "lost", _("Customer is lost")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="follow_up_plans",
        verbose_name=_("customer"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="follow_up_plans",
        verbose_name=_("assigned to"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("planned by"),
    )
    created_at = models.DateTimeField(_("planned"), auto_now_add=True)
    due_date = models.DateField(_("due"), validators=ranges.business_date_validators())
    channel = models.CharField(_("channel"), max_length=10, choices=Interaction.Channel)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.OPEN)
    outcome_code = models.CharField(_("outcome"), max_length=10, choices=Outcome, blank=True)
    outcome = models.TextField(_("what happened"), blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("completed by"),
    )
    # The churn score the plan was made from; the snapshot itself is pruned later.
    run = models.ForeignKey(
        "customers.PipelineRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pipeline run"),
    )
    risk = models.FloatField(_("churn risk when planned"), null=True, blank=True)
    value_at_risk = models.DecimalField(
        _("value at risk when planned"), max_digits=16, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("follow-up plan")
        verbose_name_plural = _("follow-up plans")
        indexes = [
            models.Index(fields=["assignee", "status", "due_date"], name="plan_assignee_idx"),
            models.Index(fields=["customer", "-created_at"], name="plan_customer_idx"),
            models.Index(fields=["status", "due_date"], name="plan_status_due_idx"),
            models.Index(fields=["created_at"], name="plan_created_idx"),
        ]
        constraints = [ranges.date_check("followupplan", "due_date")]

    def __str__(self):
        return f"{self.customer} · {self.due_date}"

    def is_overdue(self, on):
        return self.status == self.Status.OPEN and self.due_date < on


class ChurnEpisode(models.Model):
    """A customer's stretch at risk: from being flagged high risk (or found lost) to
    their next order, which makes them retained, or won back if it came after they
    counted as lost."""

    class Outcome(models.TextChoices):
        OPEN = "open", _("Not ordered again yet")
        RETAINED = "retained", _("Retained")
        WON_BACK = "won_back", _("Won back")

    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="churn_episodes",
        verbose_name=_("customer"),
    )
    flagged_on = models.DateField(_("flagged on"))
    flagged_run = models.ForeignKey(
        "customers.PipelineRun",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("flagged by run"),
    )
    flagged_risk = models.FloatField(_("churn risk when flagged"))
    last_order_on = models.DateField(_("last order before"))
    lost_from = models.DateField(
        _("lost from"), help_text=_("Without an order by this date, the customer is lost.")
    )
    ended_on = models.DateField(_("ordered again on"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome, default=Outcome.OPEN)
    plan = models.ForeignKey(
        FollowUpPlan,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="episodes",
        verbose_name=_("follow-up plan before the order"),
    )

    class Meta:
        ordering = ["-flagged_on", "-id"]
        verbose_name = _("churn episode")
        verbose_name_plural = _("churn episodes")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(outcome="open"), name="one_open_episode"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-flagged_on"], name="episode_customer_idx"),
            models.Index(fields=["flagged_on"], name="episode_flagged_idx"),
            models.Index(fields=["ended_on"], name="episode_ended_idx"),
            models.Index(fields=["lost_from"], name="episode_lost_idx"),
        ]

    def __str__(self):
        return f"{self.customer_id} {self.flagged_on} ({self.outcome})"
