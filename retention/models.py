"""Retention (客户保留): churn-risk snapshots, follow-up plans (重点拜访/联系计划) and
the episodes that tell whether a customer at risk was retained or won back (客户再生)."""

import json

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
    horizon_days = models.PositiveIntegerField(
        _("horizon (days)"),
        default=180,
        validators=[MinValueValidator(30), MaxValueValidator(365)],
        help_text=_(
            "The churn risk is the chance of no order within this many days (30–365). "
            "Takes effect at the next run."
        ),
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
            models.CheckConstraint(
                condition=Q(horizon_days__gte=30) & Q(horizon_days__lte=365),
                name="retention_horizon_days_range",
                violation_error_message=_("The horizon must be 30 to 365 days."),
            ),
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


class Festival(models.Model):
    """A festival's date, which many customers buy before (retention.calendar); shipped
    for 元旦, 春节 and 中秋 of 2020–2035, extended in admin."""

    class Kind(models.TextChoices):
        NEW_YEAR = "new_year", _("New Year's Day (元旦)")
        SPRING = "spring", _("Spring Festival (春节)")
        DRAGON_BOAT = "dragon_boat", _("Dragon Boat Festival (端午)")
        MID_AUTUMN = "mid_autumn", _("Mid-Autumn Festival (中秋)")
        NATIONAL_DAY = "national_day", _("National Day (国庆)")

    kind = models.CharField(_("festival"), max_length=12, choices=Kind)
    date = models.DateField(_("date"), validators=ranges.business_date_validators(far_ahead=True))

    class Meta:
        ordering = ["date", "kind"]
        verbose_name = _("festival")
        verbose_name_plural = _("festival calendar")
        constraints = [
            models.UniqueConstraint(fields=["kind", "date"], name="festival_kind_date_uniq"),
            ranges.date_check("festival", "date"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.date.isoformat()}"

    @classmethod
    def calendar(cls):
        """[(kind, date)] of every festival, for retention.calendar."""
        return list(cls.objects.order_by().values_list("kind", "date"))


class JsonTextField(models.TextField):
    """JSON kept as text: written by COPY without the server parsing each value (jsonb's
    parse was a third of the snapshot's write), read back as Python values."""

    def from_db_value(self, value, expression, connection):
        if value is None:
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    def get_prep_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj):
        return self.get_prep_value(self.value_from_object(obj))


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
    # Expected value of the next 12 months: BG/NBD expected orders × expected order value.
    expected_value = models.DecimalField(
        _("expected value, next 12 months"), max_digits=16, decimal_places=2, default=0
    )
    # Risk × expected value.
    value_at_risk = models.DecimalField(_("value at risk"), max_digits=16, decimal_places=2)
    # Copied from segmentation's snapshot of the same run, so that the list filters on
    # one table; empty when that step did not score the customer.
    value_tier = models.CharField(_("value tier"), max_length=10, blank=True)
    # [{"code": "late", "params": {"days": 95, "interval": 30}}, …], strongest first;
    # put into words when shown (retention.reasons), so that each reader gets their language.
    reasons = JsonTextField(_("reasons"), default="[]")

    class Meta:
        verbose_name = _("churn score")
        verbose_name_plural = _("churn scores")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer"], name="churnscore_run_customer_uniq"
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


class ChurnRunSummary(models.Model):
    """How one run's churn score was made and how well it ranked its backtest.

    The backtest scores the customers as of `backtest_on` from the orders up to it, and
    labels as churned those without an order in the `horizon_days` after it; the weights
    are fitted on half of them and measured on the other half (`held_out`), beside plain
    recency on the same customers.
    """

    class Fallback(models.TextChoices):
        LEARNED = "", _("learned from this base's history")
        SHORT_HISTORY = "short_history", _("the order history is too short for a backtest")
        FEW_CUSTOMERS = "few_customers", _("too few customers ordered before the backtest date")
        FEW_CHURNERS = "few_churners", _("too few customers stopped ordering in the backtest")
        FEW_STAYERS = "few_stayers", _("too few customers went on ordering in the backtest")
        DEFAULT_BETTER = (
            "default_better",
            _("the default weights ranked the backtest better than the learned ones"),
        )

    run = models.OneToOneField(
        "customers.PipelineRun",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="churn_summary",
        verbose_name=_("pipeline run"),
    )
    horizon_days = models.PositiveIntegerField(_("horizon (days)"))
    backtest_on = models.DateField(_("backtest date"), null=True, blank=True)
    customers = models.PositiveIntegerField(_("customers in the backtest"), default=0)
    churned = models.PositiveIntegerField(_("churned in the backtest"), default=0)
    held_out = models.PositiveIntegerField(_("customers measured"), default=0)
    fallback = models.CharField(
        _("weights"), max_length=16, choices=Fallback, blank=True, default=""
    )
    # {"intercept": …, "bgnbd": …, …}: the weights the run scored with.
    weights = models.JSONField(_("weights used"), default=dict)
    auc = models.FloatField(_("ROC AUC of the score"), null=True, blank=True)
    lift = models.FloatField(_("top-decile lift of the score"), null=True, blank=True)
    recency_auc = models.FloatField(_("ROC AUC of recency"), null=True, blank=True)
    recency_lift = models.FloatField(_("top-decile lift of recency"), null=True, blank=True)

    class Meta:
        verbose_name = _("churn run summary")
        verbose_name_plural = _("churn run summaries")

    def __str__(self):
        return str(self.run_id)

    @property
    def base_rate(self):
        return self.churned / self.customers if self.customers else None

    @property
    def learned(self):
        return self.fallback == self.Fallback.LEARNED

    @property
    def beats_recency(self):
        """None when there is nothing to compare."""
        if self.auc is None or self.recency_auc is None:
            return None
        return self.auc > self.recency_auc


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
