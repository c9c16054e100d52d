"""Snapshot rows: what a nightly step writes per pipeline run and customer.

A step that scores customers writes one row per customer keyed by the run
(`segmentation.RfmScore`, `retention.ChurnScore`); pages read the rows of the
current run, so a run shows only once the frame has published it. The frame
deletes the rows of runs beyond those a step keeps (see `register_step(...,
snapshots=..., keep=...)` in customers.pipeline).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import PipelineRun


class RunSnapshotQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The rows about customers `user` may see (customers.selectors.of_visible_customers)."""
        from customers.selectors import of_visible_customers

        return of_visible_customers(self, user)

    def of_run(self, run):
        """The rows of `run`; none without a run."""
        return self.none() if run is None else self.filter(run=run)

    def current(self):
        """The rows of the current run (found in a subquery, not a query of its own)."""
        return self.filter(run_id=PipelineRun.objects.current_id())


class RunSnapshot(models.Model):
    """Abstract base of a row per pipeline run and customer.

    The two keys are foreign keys for Django (joins, `select_related`, admin
    links, deletes cascading from runs and customers) but not in the database:
    checking two constraints on each of a million rows written nightly by COPY
    costs more than the table's indexes (measured: 22 µs a row for the churn
    scores; deferred checks some 14 s at commit for a million RFM scores). The
    rows come from customers just read from their orders, so the keys hold
    anyway. Neither key has an index of its own: a subclass declares a unique
    index on the two, in the order its readers need, and at least one index that
    starts with the run, which the pruning and the current run's reads use.

    Rows are read through `Model.objects.current().visible_to(user)`.
    """

    run = models.ForeignKey(
        "customers.PipelineRun",
        on_delete=models.CASCADE,
        related_name="%(class)s_rows",
        related_query_name="%(class)s",
        verbose_name=_("pipeline run"),
        db_index=False,
        db_constraint=False,
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.CASCADE,
        related_name="%(class)s_rows",
        related_query_name="%(class)s",
        verbose_name=_("customer"),
        db_index=False,
        db_constraint=False,
    )

    objects = RunSnapshotQuerySet.as_manager()

    class Meta:
        abstract = True


class PurchaseFigure(RunSnapshot):
    """A customer's purchases over the 12 months up to the run's date: the amount of its
    recorded orders (customers.purchases). Customers without any have no row.

    The network panel and page add these up over a supplier's network instead of reading
    every order of it on each request. One index besides the primary key, (run, customer),
    unique: the current run's figure of each listed customer is one probe."""

    purchases = models.DecimalField(_("purchases, last 12 months"), max_digits=16, decimal_places=2)

    class Meta:
        verbose_name = _("purchases figure")
        verbose_name_plural = _("purchases figures")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer"], name="purchasefigure_run_customer_uniq"
            ),
        ]

    def __str__(self):
        return f"{self.run_id} {self.customer_id} {self.purchases}"


class CrossRegionSupply(RunSnapshot):
    """A customer supplied across a region's border as of the run's date: its region and its
    supplier's differ, both filled in (customers.purchases writes them with the purchases).

    The network index lists these, for one region on either side or for all, instead of
    comparing every customer with its supplier on each request. Indexes: (run, region) and
    (run, supplier region), so that a region's list is two index ranges of one run."""

    region = models.CharField(_("region"), max_length=50)
    supplier_region = models.CharField(_("supplier’s region"), max_length=50)

    class Meta:
        verbose_name = _("cross-region supply")
        verbose_name_plural = _("cross-region supplies")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "customer"], name="crossregion_run_customer_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["run", "region"], name="crossregion_run_region_idx"),
            models.Index(fields=["run", "supplier_region"], name="crossregion_run_supplier_idx"),
        ]

    def __str__(self):
        return f"{self.run_id} {self.customer_id} {self.region} ← {self.supplier_region}"
