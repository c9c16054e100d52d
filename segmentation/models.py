"""RFM snapshots and 80/20 value tiers (价值分层), one set of rows per pipeline run."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from customers import ranges
from customers.singletons import SingletonSettings
from customers.snapshots import RunSnapshot


class Segment(models.TextChoices):
    """Named cells of the R×F grid; the mapping lives in segmentation.rfm."""

    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal")
    POTENTIAL_LOYALISTS = "potential_loyalists", _("Potential loyalists")
    NEW = "new", _("New customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to sleep")
    AT_RISK = "at_risk", _("At risk")
    CANT_LOSE = "cant_lose", _("Can't lose them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


class ValueTier(models.TextChoices):
    KEY = "key", _("Key customers")  # 重点客户
    ORDINARY = "ordinary", _("Ordinary customers")  # 普通客户
    SMALL = "small", _("Small customers")  # 小客户


class SegmentationSettings(SingletonSettings):
    """The tunable parameters of the nightly RFM step; one row, edited in admin."""

    window_days = models.PositiveIntegerField(
        _("window (days)"),
        default=365,
        validators=ranges.days_validators(least=1),
        help_text=_("Frequency and spend count the orders of this many days up to the run's date."),
    )
    key_share = models.DecimalField(
        _("key customers' share of revenue"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.800"),
        help_text=_("Key customers are those who together make this share of revenue, e.g. 0.80."),
    )
    ordinary_share = models.DecimalField(
        _("key and ordinary customers' share of revenue"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.950"),
        help_text=_(
            "Ordinary customers make the revenue from the key share up to this share, "
            "e.g. 0.95; the rest are small customers."
        ),
    )
    snapshots_kept = models.PositiveIntegerField(
        _("snapshots kept"),
        default=30,
        validators=ranges.count_validators(most=ranges.MAX_SNAPSHOTS),
        help_text=_("How many published runs keep their scores, for the dashboard's trend."),
    )

    class Meta:
        verbose_name = _("segmentation settings")
        verbose_name_plural = _("segmentation settings")
        constraints = [
            models.CheckConstraint(
                condition=Q(key_share__gt=0)
                & Q(ordinary_share__gt=F("key_share"))
                & Q(ordinary_share__lt=1),
                name="segmentation_shares_ordered",
                violation_error_message=_(
                    "The shares must satisfy 0 < key share < ordinary share < 1."
                ),
            ),
            models.CheckConstraint(
                condition=Q(window_days__gte=1) & Q(snapshots_kept__gte=1),
                name="segmentation_window_and_snapshots_positive",
                violation_error_message=_("The window and the snapshots kept must be at least 1."),
            ),
            ranges.days_check("segmentationsettings", "window_days", least=1),
            ranges.count_check("segmentationsettings", "snapshots_kept", most=ranges.MAX_SNAPSHOTS),
        ]

    def clean(self):
        errors = {}
        key, ordinary = self.key_share, self.ordinary_share
        if key is not None and not 0 < key < 1:
            errors["key_share"] = _(
                "Enter a share between 0 and 1, for example 0.80 for 80 per cent of revenue."
            )
        if ordinary is not None and not 0 < ordinary < 1:
            errors["ordinary_share"] = _(
                "Enter a share between 0 and 1, for example 0.95 for 95 per cent of revenue."
            )
        elif key is not None and ordinary is not None and ordinary <= key:
            errors["ordinary_share"] = _(
                "The ordinary share must be above the key customers' share (%(key)s): "
                "ordinary customers come after the key customers."
            ) % {"key": key}
        if errors:
            raise ValidationError(errors)


class RfmScore(RunSnapshot):
    """One customer's RFM values, scores, segment and value tier in one run.

    Customers with no order up to the run's date have no row.

    A run writes a million rows at full scale and every index slows that COPY,
    so the table has one beside the primary key: (run, customer), unique. It
    grows at its right end as a run is written in customer order, finds a
    customer's score (file panel, list filters, export, the dashboard's join to
    the visible customers) and deletes a run's rows when snapshots are pruned.
    Measured at 1M rows (bench/bench_rfm.py): an index on (run, value_rank)
    added 2.7 s to a 3 s write and only helped the admin's unfiltered list
    sorted by spend (a rep's got slower: the planner walked the ranking);
    indexes on (run, tier) and (run, segment) only slowed the write, because the
    list filters probe the unique index per listed customer; deferred
    foreign-key checks cost some 14 s at commit. So the run and customer keys
    are not enforced by the database (see customers.snapshots.RunSnapshot): the
    rows come from orders, whose customer key is, and Django still cascades
    deletes of runs and customers.
    """

    recency_days = models.PositiveIntegerField(_("days since last order"))
    frequency = models.PositiveIntegerField(_("orders in the window"))
    monetary = models.DecimalField(_("spend in the window"), max_digits=16, decimal_places=2)
    r_score = models.PositiveSmallIntegerField(_("R score"))
    f_score = models.PositiveSmallIntegerField(_("F score"))
    m_score = models.PositiveSmallIntegerField(_("M score"))
    segment = models.CharField(_("RFM segment"), max_length=20, choices=Segment)
    value_tier = models.CharField(_("value tier"), max_length=10, choices=ValueTier)
    value_rank = models.PositiveIntegerField(
        _("value rank"),
        null=True,
        blank=True,
        help_text=_(
            "1 is the customer with the highest spend in the window; none without spend in it."
        ),
    )

    class Meta:
        verbose_name = _("RFM score")
        verbose_name_plural = _("RFM scores")
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="rfmscore_run_customer_uniq"),
        ]

    def __str__(self):
        return f"{self.customer_id} R{self.r_score}F{self.f_score}M{self.m_score}"


class RfmRunSummary(models.Model):
    """The run's figures over all scored customers, for admins' dashboard and the trend."""

    run = models.OneToOneField(
        "customers.PipelineRun",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="rfm_summary",
        verbose_name=_("pipeline run"),
    )
    window_days = models.PositiveIntegerField(_("window (days)"))
    key_share = models.DecimalField(_("key share"), max_digits=4, decimal_places=3)
    ordinary_share = models.DecimalField(_("ordinary share"), max_digits=4, decimal_places=3)
    snapshots_kept = models.PositiveIntegerField(_("snapshots kept"))
    customers_scored = models.PositiveIntegerField(_("customers scored"))
    total_monetary = models.DecimalField(
        _("revenue in the window"), max_digits=18, decimal_places=2
    )
    # {"key": {"customers": n, "monetary": "…", "customer_share": x, "revenue_share": y}, …}
    tiers = models.JSONField(_("value tiers"), default=dict)
    top20_share = models.FloatField(_("revenue share of the top 20 per cent"))
    pareto_customers = models.PositiveIntegerField(_("customers making the key share of revenue"))
    segments = models.JSONField(_("segment sizes"), default=dict)
    # grid[r - 1][f - 1] = customers with that R and F score.
    grid = models.JSONField(_("R×F grid"), default=list)
    # Cumulative revenue share of the top k % of customers, k = 0…100.
    lorenz = models.JSONField(_("Pareto curve"), default=list)

    class Meta:
        verbose_name = _("RFM run summary")
        verbose_name_plural = _("RFM run summaries")

    def __str__(self):
        return str(self.run)
