"""The customer file (客户档案) and everything recorded against a customer."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from customers.access import can_see_all_customers

ZERO = Decimal("0.00")


class Team(models.Model):
    """A sales team: its managers see every customer of the team."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    managers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="managed_teams",
        blank=True,
        verbose_name=_("managers"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="sales_teams",
        blank=True,
        verbose_name=_("sales staff"),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self):
        return self.name


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self):
        return self.name


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one rule of record-level access: admins see all, managers their
        teams' customers, sales staff the customers they own."""
        if not user.is_authenticated:
            return self.none()
        if can_see_all_customers(user):
            return self
        return self.filter(Q(owner=user) | Q(team__in=user.managed_teams.values("pk")))

    def with_overdue(self):
        return self.filter(overdue_amount__gt=0)

    def with_open_complaint(self):
        return self.filter(Exists(Complaint.objects.open().filter(customer=OuterRef("pk"))))


class Customer(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("Individual")
        COMPANY = "company", _("Company")

    class ChannelRole(models.TextChoices):
        GENERAL_DISTRIBUTOR = "general_distributor", _("General distributor")
        WHOLESALER = "wholesaler", _("Wholesaler")
        TERMINAL = "terminal", _("Terminal")
        CONSUMER = "consumer", _("End consumer")

    class TerminalType(models.TextChoices):
        HOTEL = "hotel", _("Hotel")
        SUPERMARKET = "supermarket", _("Supermarket")
        RESTAURANT = "restaurant", _("Restaurant")
        CONVENIENCE_STORE = "convenience_store", _("Convenience store")
        OTHER = "other", _("Other")

    class Source(models.TextChoices):
        REFERRAL = "referral", _("Referral")
        EXHIBITION = "exhibition", _("Trade fair")
        ADVERTISING = "advertising", _("Advertising")
        WEBSITE = "website", _("Website")
        COLD_CALL = "cold_call", _("Cold call")
        PARTNER = "partner", _("Channel partner")
        OTHER = "other", _("Other")

    external_ref = models.CharField(
        _("customer reference"),
        max_length=64,
        unique=True,
        help_text=_("The reference used by imports and other systems."),
    )
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.COMPANY)
    channel_role = models.CharField(
        _("channel role"), max_length=30, choices=ChannelRole, default=ChannelRole.TERMINAL
    )
    terminal_type = models.CharField(
        _("terminal type"), max_length=30, choices=TerminalType, blank=True
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("supplied by"),
        help_text=_("The distributor or wholesaler this customer buys through."),
    )
    region = models.CharField(_("region"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    source = models.CharField(_("source channel"), max_length=20, choices=Source, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_customers",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("team"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    notes = models.TextField(_("notes"), blank=True)
    # 回款: kept current by the nightly receivables step and by every recorded payment.
    outstanding_amount = models.DecimalField(
        _("outstanding"), max_digits=14, decimal_places=2, default=ZERO
    )
    overdue_amount = models.DecimalField(
        _("overdue"), max_digits=14, decimal_places=2, default=ZERO
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    history = HistoricalRecords(
        excluded_fields=["outstanding_amount", "overdue_amount", "updated_at"]
    )
    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("view_all_customers", _("Can see every customer")),
            ("run_pipeline", _("Can start the nightly computation")),
        ]
        indexes = [
            models.Index(fields=["name", "id"], name="customer_name_idx"),
            models.Index(fields=["created_at", "id"], name="customer_created_idx"),
            models.Index(fields=["region", "name", "id"], name="customer_region_idx"),
            models.Index(fields=["owner", "name", "id"], name="customer_owner_idx"),
            models.Index(fields=["team", "name", "id"], name="customer_team_idx"),
            models.Index(fields=["channel_role", "name", "id"], name="customer_role_idx"),
            models.Index(fields=["kind", "name", "id"], name="customer_kind_idx"),
            models.Index(fields=["phone"], name="customer_phone_idx"),
            models.Index(fields=["outstanding_amount", "id"], name="customer_outstanding_idx"),
            models.Index(
                fields=["overdue_amount", "id"],
                name="customer_overdue_idx",
                condition=Q(overdue_amount__gt=0),
            ),
        ]

    def __str__(self):
        return self.name


class Contact(models.Model):
    """A person at the customer we talk to."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(_("name"), max_length=100)
    title = models.CharField(_("position"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=50, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        ordering = ["-is_primary", "name"]
        verbose_name = _("contact person")
        verbose_name_plural = _("contact people")

    def __str__(self):
        return self.name


def document_upload_to(document, filename):
    # Files are renamed so that a name typed by a user never reaches the disk.
    extension = filename.rsplit(".", 1)[-1].lower()
    return f"documents/{timezone.now():%Y/%m}/{document.customer_id}-{uuid.uuid4().hex}.{extension}"


class Document(models.Model):
    """A copy of an identity document: ID card, business licence (营业执照)."""

    class Type(models.TextChoices):
        ID_CARD = "id_card", _("ID card")
        BUSINESS_LICENCE = "business_licence", _("Business licence")
        CONTRACT = "contract", _("Contract")
        OTHER = "other", _("Other")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField(_("document type"), max_length=30, choices=Type)
    file = models.FileField(_("file"), upload_to=document_upload_to)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size in bytes"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("document")
        verbose_name_plural = _("documents")

    def __str__(self):
        return f"{self.get_doc_type_display()}: {self.original_name}"

    def is_expired(self, on):
        return self.expires_on is not None and self.expires_on < on


class OpenIssueQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status=OpenIssue.Status.OPEN)


class OpenIssue(models.Model):
    """An unresolved issue (未解决问题) on the customer's file."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="open_issues")
    title = models.CharField(_("issue"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("opened by"),
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

    objects = OpenIssueQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-opened_at"]
        verbose_name = _("unresolved issue")
        verbose_name_plural = _("unresolved issues")
        indexes = [models.Index(fields=["customer", "status"], name="issue_customer_status_idx")]

    def __str__(self):
        return self.title


class Order(models.Model):
    """A purchase (进货) by the customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    external_ref = models.CharField(_("order reference"), max_length=80, unique=True)
    order_date = models.DateField(_("order date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    category = models.CharField(_("product category"), max_length=50, blank=True)

    class Meta:
        ordering = ["-order_date", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "-order_date", "-id"], name="order_customer_date_idx"),
            models.Index(fields=["order_date"], name="order_date_idx"),
        ]

    def __str__(self):
        return self.external_ref


class Invoice(models.Model):
    """A receivable: what the customer owes for goods delivered, due on a date."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invoices")
    external_ref = models.CharField(_("invoice reference"), max_length=80, unique=True)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-due_date", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            models.Index(fields=["customer", "-due_date", "-id"], name="invoice_customer_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("issue_date")), name="invoice_due_after_issue"
            ),
        ]

    def __str__(self):
        return self.external_ref


class Payment(models.Model):
    """Money received against an invoice (回款)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="payments")
    # Denormalised from the invoice so that a customer's payments read from one index.
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payments")
    external_ref = models.CharField(_("payment reference"), max_length=120, unique=True)
    paid_date = models.DateField(_("paid on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["-paid_date", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [
            models.Index(
                fields=["customer", "-paid_date", "-id"], name="payment_customer_date_idx"
            ),
            models.Index(fields=["invoice", "paid_date"], name="payment_invoice_idx"),
        ]

    def __str__(self):
        return self.external_ref


class Interaction(models.Model):
    """One entry of the contact log: every call, visit or message."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        FAX = "fax", _("Fax")
        EMAIL = "email", _("Email")
        VISIT = "visit", _("Visit")
        WEB = "web", _("Web")
        SMS = "sms", _("Mobile message")
        WECHAT = "wechat", _("WeChat")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="interactions")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="interactions",
        verbose_name=_("by"),
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    summary = models.TextField(_("summary"))
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    next_follow_up = models.DateField(_("next follow-up"), null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="interaction_customer_idx"
            ),
            models.Index(fields=["staff", "next_follow_up"], name="interaction_follow_up_idx"),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.occurred_at:%Y-%m-%d}"


class ComplaintQuerySet(models.QuerySet):
    def open(self):
        return self.exclude(status=Complaint.Status.RESOLVED)


class Complaint(models.Model):
    """A complaint or feedback (投诉/反馈); open ones are a churn signal."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        RESOLVED = "resolved", _("Resolved")

    # Allowed moves of the workflow; resolving needs a resolution text.
    TRANSITIONS = {
        Status.OPEN: {Status.IN_PROGRESS, Status.RESOLVED},
        Status.IN_PROGRESS: {Status.RESOLVED},
        Status.RESOLVED: {Status.OPEN},
    }

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="complaints")
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.OPEN)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text=_("1 (very unhappy) to 5 (very happy), asked after resolution."),
    )

    objects = ComplaintQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [
            models.Index(fields=["customer", "status"], name="complaint_customer_status_idx"),
            models.Index(
                fields=["customer"],
                name="complaint_open_idx",
                condition=~Q(status="resolved"),
            ),
        ]

    def __str__(self):
        return self.subject

    def can_move_to(self, status):
        return status in self.TRANSITIONS.get(self.status, set())


class PipelineRunQuerySet(models.QuerySet):
    def current(self):
        """The last published run: what dashboards and lists read."""
        return self.filter(status=PipelineRun.Status.SUCCEEDED).order_by("-published_at").first()


class PipelineRun(models.Model):
    """One run of the nightly pipeline, as of a date."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    as_of = models.DateField(_("as of"))
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    steps = models.JSONField(_("steps"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )

    objects = PipelineRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("pipeline run")
        verbose_name_plural = _("pipeline runs")
        constraints = [
            # Two runs never overlap, whichever worker machine starts them.
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="one_running_pipeline"
            ),
        ]

    def __str__(self):
        return f"{self.as_of} ({self.get_status_display()})"
