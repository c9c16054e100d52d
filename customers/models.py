"""The customer file (客户档案) and everything recorded against a customer."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connection, models
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from customers import duplicate_keys, ranges
from customers.access import can_see_all_customers, managed_team_ids
from customers.singletons import SingletonSettings

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


class Grade(models.TextChoices):
    """Credit grades (信用等级). The order of declaration is the order of the grades,
    best first: A < B < C < D. Everything that compares grades asks this class."""

    A = "A", _("A · good credit")
    B = "B", _("B · late but repays")
    C = "C", _("C · cautious")
    D = "D", _("D · poor credit")

    @classmethod
    def ranks(cls):
        """{grade: rank}, 0 for A … 3 for D; larger is worse."""
        return {grade: rank for rank, grade in enumerate(cls.values)}

    @classmethod
    def rank(cls, grade):
        """0 for A … 3 for D; larger is worse; None for no grade."""
        return cls.ranks().get(grade)

    @classmethod
    def is_worse(cls, new, old):
        """Whether `new` is a worse grade than `old`; False when either is no grade."""
        new_rank, old_rank = cls.rank(new), cls.rank(old)
        return new_rank is not None and old_rank is not None and new_rank > old_rank

    @classmethod
    def or_worse(cls, grade):
        """The grades from `grade` down to the worst: or_worse(C) is [C, D]."""
        return cls.values[cls.values.index(grade) :]

    @classmethod
    def rank_of(cls, field):
        """SQL: the rank of the grade in `field` (NULL for no grade), for comparisons
        and ordering in queries."""
        return models.Case(
            *(models.When(**{field: grade}, then=rank) for grade, rank in cls.ranks().items()),
            output_field=models.IntegerField(),
        )


# The list filter's value for "no credit history" beside the grade letters.
NO_CREDIT_HISTORY = "none"


def no_credit_history_q(prefix=""):
    """Customers shown as having no credit history (无往来记录): graded, with no invoice
    in the look-back window at the last run (nor marked as refusing to pay), and a grade
    the rule gave (unlocked); the
    grade in force is the one they are treated as. A locked grade is an admin's
    assessment and is shown as that grade. `prefix` reaches the customer through a
    relation, e.g. "customer__"."""
    return Q(**{f"{prefix}has_credit_history": False, f"{prefix}grade_locked": False}) & ~Q(
        **{f"{prefix}credit_grade": ""}
    )


def credit_grade_q(values, prefix=""):
    """Customers whose grade as shown is one of `values`: grade letters (judged from a
    credit history, or locked by an admin) and NO_CREDIT_HISTORY."""
    no_history = no_credit_history_q(prefix)
    condition = Q(pk__in=[])
    grades = [value for value in values if value in Grade.values]
    if grades:
        condition |= Q(**{f"{prefix}credit_grade__in": grades}) & ~no_history
    if NO_CREDIT_HISTORY in values:
        condition |= no_history
    return condition


def _bigram_query(value):
    """A tsquery matching names that contain every character bigram of `value`."""
    value = value.upper()
    bigrams = sorted({value[i : i + 2] for i in range(len(value) - 1)})
    quoted = ("'" + bigram.replace("\\", "\\\\").replace("'", "''") + "'" for bigram in bigrams)
    return " & ".join(quoted)


def _name_contains(value):
    """On PostgreSQL the bigram index (migration 0002) finds the candidates and the
    LIKE keeps the real substrings; elsewhere, and for one character, a plain LIKE."""
    contains = Q(name__icontains=value)
    if connection.vendor != "postgresql" or len(value) < 2:
        return contains
    bigrams = RawSQL(
        'crm_bigrams("customers_customer"."name") @@ %s::tsquery',
        [_bigram_query(value)],
        output_field=models.BooleanField(),
    )
    return Q(bigrams) & contains


def visible_parts(user):
    """The customers `user` may see as conditions any of which admits a customer: their
    own, then each managed team's (None: every customer). A read that walks an index in
    order takes one part at a time (the customer indexes per owner and per team).
    Authenticated users."""
    if can_see_all_customers(user):
        return None
    return [Q(owner=user), *(Q(team=team_id) for team_id in managed_team_ids(user))]


def visible_q(user, prefix=""):
    """The condition of `CustomerQuerySet.visible_to` on a customer's own row (None: every
    customer), for reads that must tell, row by row, whether the viewer may see a
    customer without filtering it out (the network's structure). `prefix` reaches the
    customer from a related row ("customer__"), as a join rather than a semi-join over
    the visible customers: a few rows wanted in the related table's order (the oldest
    open complaints) are then found by walking that order. Authenticated users."""
    if can_see_all_customers(user):
        return None
    # Team ids as literals, not a subquery: the planner then estimates a rep's
    # share of a million customers correctly and walks the owner index.
    team_ids = managed_team_ids(user)
    if not team_ids:
        return Q(**{f"{prefix}owner": user})
    return Q(**{f"{prefix}owner": user}) | Q(**{f"{prefix}team__in": team_ids})


class CustomerQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The one rule of record-level access: admins see all, managers their
        teams' customers, sales staff the customers they own."""
        if not user.is_authenticated:
            return self.none()
        rule = visible_q(user)
        return self if rule is None else self.filter(rule)

    def search(self, value):
        """Customers whose name contains `value`, or whose phone starts with it, or whose
        reference is it."""
        value = value.strip()
        if not value:
            return self
        return self.filter(
            _name_contains(value) | Q(phone__startswith=value) | Q(external_ref=value)
        )

    def name_or_ref(self, value):
        """Customers whose name contains `value` or whose reference starts with it (both
        served by an index: the name bigrams on PostgreSQL, the reference's own)."""
        return self.filter(_name_contains(value) | Q(external_ref__startswith=value))

    def with_overdue(self):
        return self.filter(overdue_amount__gt=0)

    def without_credit_history(self):
        return self.filter(no_credit_history_q())

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
    # The foreign keys below are served by the composite indexes in Meta (owner, name, id),
    # (team, name, id) and (parent, id): one index less each for every write to rewrite.
    parent = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        db_index=False,
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
        db_index=False,
        null=True,
        blank=True,
        related_name="owned_customers",
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        db_index=False,
        null=True,
        blank=True,
        related_name="customers",
        verbose_name=_("team"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="customers", verbose_name=_("tags"))
    notes = models.TextField(_("notes"), blank=True)
    # 回款: kept current by the nightly receivables step and by every recorded payment.
    outstanding_amount = models.DecimalField(
        _("outstanding"),
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        validators=ranges.limit_validators(),
    )
    overdue_amount = models.DecimalField(
        _("overdue"),
        max_digits=14,
        decimal_places=2,
        default=ZERO,
        validators=ranges.limit_validators(),
    )
    # 信用等级: the grade in force, what the nightly rule suggests, and an admin's lock.
    credit_grade = models.CharField(_("credit grade"), max_length=1, choices=Grade, blank=True)
    suggested_grade = models.CharField(
        _("suggested grade"), max_length=1, choices=Grade, blank=True
    )
    grade_locked = models.BooleanField(
        _("grade locked"),
        default=False,
        help_text=_("A locked grade is kept as it is; the nightly rule only suggests."),
    )
    grade_lock_reason = models.CharField(_("reason for the lock"), max_length=255, blank=True)
    # Written by the nightly rule with the suggestion: without invoices in the window the
    # customer is shown as having no credit history (see no_credit_history_q).
    has_credit_history = models.BooleanField(
        _("credit history"),
        default=False,
        help_text=_(
            "Had invoices in the look-back window, or is marked as refusing to pay, at the "
            "last nightly run."
        ),
    )
    refuses_to_pay = models.BooleanField(
        _("refuses to pay"),
        default=False,
        help_text=_("Deliberately delays or refuses payment: the rule suggests D."),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # The name and phone as compared for likely duplicates (customers.duplicate_keys); the
    # database default keeps rows written by raw SQL valid (they match nothing by name).
    name_key = models.CharField(
        _("name as compared"),
        max_length=duplicate_keys.NAME_KEY_LENGTH,
        blank=True,
        editable=False,
        default="",
        db_default="",
    )
    phone_key = models.CharField(
        _("phone as compared"),
        max_length=duplicate_keys.PHONE_KEY_LENGTH,
        blank=True,
        editable=False,
        default="",
        db_default="",
    )

    # The latest entry of the contact log (拜访节奏), kept by the one write path of the log
    # (customers.contact_log.refresh_last_contact) so that the contact-rhythm list reads a
    # column instead of probing the log for every customer.
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True, editable=False)
    last_contact_channel = models.CharField(
        _("last contact channel"),
        max_length=10,
        blank=True,
        editable=False,
        default="",
        db_default="",
    )

    # What people change on the file (see customers.history). Not the figures the nightly
    # run keeps current, nor the grade and its lock, whose trail is GradeChange: both are
    # rewritten set-wise, and the next editor of the file would seem to have made them.
    history = HistoricalRecords(
        excluded_fields=[
            "outstanding_amount",
            "overdue_amount",
            "updated_at",
            "credit_grade",
            "suggested_grade",
            "grade_locked",
            "grade_lock_reason",
            "has_credit_history",
            "name_key",
            "phone_key",
            "last_contact_at",
            "last_contact_channel",
        ]
    )
    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("view_all_customers", _("Can see every customer")),
            ("run_pipeline", _("Can start the nightly computation")),
            ("change_credit_grade", _("Can change and lock credit grades")),
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
            models.Index(fields=["name_key", "region"], name="customer_name_key_idx"),
            models.Index(fields=["phone_key"], name="customer_phone_key_idx"),
            # The network below a supplier is walked one level at a time through this
            # index alone (see customers.network).
            models.Index(fields=["parent", "id"], name="customer_parent_idx"),
            models.Index(fields=["credit_grade", "name", "id"], name="customer_grade_idx"),
            # The contact-rhythm list in due order (lifecycle.rhythm): the moment the rhythm
            # counts from, the last contact else the creation; company-wide, per owner and
            # per team.
            models.Index(
                Coalesce("last_contact_at", "created_at"), "id", name="customer_rhythm_idx"
            ),
            models.Index(
                F("owner"),
                Coalesce("last_contact_at", "created_at"),
                F("id"),
                name="customer_owner_rhythm_idx",
            ),
            models.Index(
                F("team"),
                Coalesce("last_contact_at", "created_at"),
                F("id"),
                name="customer_team_rhythm_idx",
            ),
            models.Index(
                fields=["name", "id"],
                name="customer_no_history_idx",
                condition=no_credit_history_q(),
            ),
            models.Index(fields=["outstanding_amount", "id"], name="customer_outstanding_idx"),
            models.Index(
                fields=["overdue_amount", "id"],
                name="customer_overdue_idx",
                condition=Q(overdue_amount__gt=0),
            ),
        ]
        constraints = [
            ranges.limit_check("customer", "outstanding_amount"),
            ranges.limit_check("customer", "overdue_amount"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.name_key = duplicate_keys.name_key(self.name)
        self.phone_key = duplicate_keys.phone_key(self.phone)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"name", "phone"} & set(update_fields):
            kwargs["update_fields"] = {*update_fields, "name_key", "phone_key"}
        super().save(*args, **kwargs)

    @property
    def no_credit_history(self):
        """Shown as having no credit history: the same rule as no_credit_history_q."""
        return bool(self.credit_grade) and not self.has_credit_history and not self.grade_locked

    def clean(self):
        if self.grade_locked and not self.grade_lock_reason.strip():
            raise ValidationError({"grade_lock_reason": _("Say why the grade is locked.")})


class Contact(models.Model):
    """A person at the customer we talk to."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="contacts", verbose_name=_("customer")
    )
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

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="documents", verbose_name=_("customer")
    )
    doc_type = models.CharField(_("document type"), max_length=30, choices=Type)
    file = models.FileField(_("file"), upload_to=document_upload_to)
    original_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveIntegerField(_("size in bytes"))
    expires_on = models.DateField(
        _("expires on"),
        null=True,
        blank=True,
        validators=ranges.business_date_validators(far_ahead=True),
    )
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
        constraints = [
            ranges.date_check("document", "expires_on"),
            ranges.moment_check("document", "uploaded_at"),
        ]

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

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="open_issues",
        db_index=False,
        verbose_name=_("customer"),
    )
    title = models.CharField(_("issue"), max_length=200)
    description = models.TextField(_("details"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("opened by"),
    )
    opened_at = models.DateTimeField(
        _("opened"), default=timezone.now, validators=ranges.business_date_validators()
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    closed_at = models.DateTimeField(
        _("closed"), null=True, blank=True, validators=ranges.business_date_validators()
    )
    resolution = models.TextField(_("resolution"), blank=True)

    objects = OpenIssueQuerySet.as_manager()

    class Meta:
        ordering = ["status", "-opened_at"]
        verbose_name = _("unresolved issue")
        verbose_name_plural = _("unresolved issues")
        indexes = [models.Index(fields=["customer", "status"], name="issue_customer_status_idx")]
        constraints = [
            ranges.moment_check("openissue", "opened_at"),
            ranges.moment_check("openissue", "closed_at"),
        ]

    def __str__(self):
        return self.title


class OrderQuerySet(models.QuerySet):
    def recorded(self):
        """Orders that count: a cancelled order counts nowhere."""
        return self.filter(status=Order.Status.RECORDED)


class Order(models.Model):
    """A purchase (进货) by the customer; a cancelled one is kept, struck through, and
    counts nowhere (spend, RFM, grades, churn, tiers)."""

    class Status(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="orders",
        db_index=False,
        verbose_name=_("customer"),
    )
    external_ref = models.CharField(_("order reference"), max_length=80)
    order_date = models.DateField(_("order date"), validators=ranges.business_date_validators())
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=ranges.amount_validators()
    )
    quantity = models.PositiveIntegerField(
        _("quantity"), default=1, validators=ranges.quantity_validators()
    )
    category = models.CharField(_("product category"), max_length=50, blank=True)
    # Defaults in the database too: bulk writes (imports, demo data) leave these out,
    # and adding the column with a constant default does not rewrite a large table.
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=Status,
        default=Status.RECORDED,
        db_default=Status.RECORDED,
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cancelled by"),
        db_index=False,
    )
    cancel_reason = models.CharField(
        _("reason for the cancellation"), max_length=255, blank=True, default="", db_default=""
    )

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-order_date", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [
            models.Index(fields=["customer", "-order_date", "-id"], name="order_customer_date_idx"),
            models.Index(fields=["order_date"], name="order_date_idx"),
        ]
        constraints = [
            # A plain unique index: bulk imports probe it; a LIKE index would only slow them.
            models.UniqueConstraint(fields=["external_ref"], name="order_external_ref_unique"),
            ranges.date_check("order", "order_date"),
            ranges.amount_check("order"),
            ranges.check(
                ranges.between("quantity", 1, ranges.MAX_QUANTITY),
                name="order_quantity_range",
                message=_("The quantity must be a whole number greater than zero."),
            ),
            ranges.check(
                Q(status="recorded", cancelled_at__isnull=True)
                | (
                    Q(status="cancelled", cancelled_at__isnull=False)
                    & ~Q(cancel_reason="")
                    & ranges.between("cancelled_at", ranges.FIRST_MOMENT, ranges.LAST_MOMENT)
                ),
                name="order_status_consistent",
                message=_("A cancelled order needs when and why it was cancelled."),
            ),
        ]

    def __str__(self):
        return self.external_ref

    @property
    def is_cancelled(self):
        return self.status == self.Status.CANCELLED


class Invoice(models.Model):
    """A receivable: what the customer owes for goods delivered, due on a date."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="invoices",
        db_index=False,
        verbose_name=_("customer"),
    )
    external_ref = models.CharField(_("invoice reference"), max_length=80)
    issue_date = models.DateField(_("issue date"), validators=ranges.business_date_validators())
    due_date = models.DateField(_("due date"), validators=ranges.business_date_validators())
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=ranges.amount_validators()
    )

    class Meta:
        ordering = ["-due_date", "-id"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        indexes = [
            models.Index(fields=["customer", "-due_date", "-id"], name="invoice_customer_due_idx"),
        ]
        constraints = [
            # A plain unique index: bulk imports probe it; a LIKE index would only slow them.
            models.UniqueConstraint(fields=["external_ref"], name="invoice_external_ref_unique"),
            models.CheckConstraint(
                condition=Q(due_date__gte=models.F("issue_date")),
                name="invoice_due_after_issue",
                violation_error_message=_("The due date is before the issue date."),
            ),
            ranges.date_check("invoice", "issue_date"),
            ranges.date_check("invoice", "due_date"),
            ranges.amount_check("invoice"),
        ]

    def __str__(self):
        return self.external_ref


class Payment(models.Model):
    """Money received against an invoice (回款)."""

    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.CASCADE,
        related_name="payments",
        db_index=False,
        verbose_name=_("invoice"),
    )
    # Denormalised from the invoice so that a customer's payments read from one index.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="payments",
        db_index=False,
        verbose_name=_("customer"),
    )
    external_ref = models.CharField(_("payment reference"), max_length=120)
    paid_date = models.DateField(_("paid on"), validators=ranges.business_date_validators())
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, validators=ranges.amount_validators()
    )

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
        constraints = [
            # A plain unique index: bulk imports probe it; a LIKE index would only slow them.
            models.UniqueConstraint(fields=["external_ref"], name="payment_external_ref_unique"),
            ranges.date_check("payment", "paid_date"),
            ranges.amount_check("payment"),
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

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="interactions",
        db_index=False,
        verbose_name=_("customer"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="interactions",
        verbose_name=_("by"),
    )
    occurred_at = models.DateTimeField(
        _("when"), default=timezone.now, validators=ranges.business_date_validators()
    )
    summary = models.TextField(_("summary"))
    outcome = models.CharField(_("outcome"), max_length=200, blank=True)
    next_follow_up = models.DateField(
        _("next follow-up"),
        null=True,
        blank=True,
        validators=ranges.business_date_validators(),
    )

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
        constraints = [
            ranges.moment_check("interaction", "occurred_at"),
            ranges.date_check("interaction", "next_follow_up"),
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

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="complaints",
        db_index=False,
        verbose_name=_("customer"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status, default=Status.OPEN)
    received_at = models.DateTimeField(
        _("received"), default=timezone.now, validators=ranges.business_date_validators()
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_at = models.DateTimeField(
        _("resolved"), null=True, blank=True, validators=ranges.business_date_validators()
    )
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
        validators=ranges.satisfaction_validators(),
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
            # The start page's oldest open complaints, walked in order.
            models.Index(
                fields=["received_at", "id"],
                name="complaint_open_received_idx",
                condition=~Q(status="resolved"),
            ),
        ]
        constraints = [
            ranges.moment_check("complaint", "received_at"),
            ranges.moment_check("complaint", "resolved_at"),
            ranges.check(
                ranges.between("satisfaction", 1, 5),
                name="complaint_satisfaction_range",
                message=_("Satisfaction is rated from 1 to 5."),
            ),
        ]

    def __str__(self):
        return self.subject

    def can_move_to(self, status):
        return status in self.TRANSITIONS.get(self.status, set())


class CustomerMerge(models.Model):
    """Two files of one customer made one (customers.merging): the merged-away customer's
    reference and name, who merged and when, and how many rows of each table moved to the
    survivor or were dropped (keyed "app.Model.field")."""

    survivor = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="merges", verbose_name=_("kept customer")
    )
    merged_customer_id = models.BigIntegerField(_("merged customer's id"))
    merged_ref = models.CharField(_("merged customer's reference"), max_length=64)
    merged_name = models.CharField(_("merged customer's name"), max_length=200)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merged by"),
    )
    merged_at = models.DateTimeField(_("merged at"), default=timezone.now)
    moved = models.JSONField(_("rows moved"), default=dict)
    dropped = models.JSONField(_("rows dropped"), default=dict)

    class Meta:
        ordering = ["-merged_at", "-id"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self):
        return f"{self.merged_ref} → {self.survivor_id}"


class PipelineRunQuerySet(models.QuerySet):
    def published(self):
        """Published runs, the latest first."""
        return self.filter(status=PipelineRun.Status.SUCCEEDED).order_by("-published_at")

    def current(self):
        """The last published run: what dashboards and lists read."""
        return self.published().first()

    def current_id(self):
        """The current run's id as a subquery, so that filtering rows of the current run
        costs no query of its own."""
        return models.Subquery(self.published().values("pk")[:1])


class PipelineRun(models.Model):
    """One run of the nightly pipeline, as of a date."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        # Dated before the published run: computed for comparison, never published.
        KEPT_ASIDE = "kept_aside", _("Kept aside (back-dated)")

    class Closure(models.TextChoices):
        """Why the frame, not a step, ended a run as failed."""

        NOT_SENT = "not_sent", _("the task queue could not be reached")
        NOT_PICKED_UP = "not_picked_up", _("no worker took it up")
        WORKER_SILENT = "worker_silent", _("its worker stopped answering")
        TOO_LONG = "too_long", _("it ran too long")
        BY_HAND = "by_hand", _("closed by hand")

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
    # Refreshed every few seconds while a worker executes the run; a running run whose
    # heartbeat stopped is closed as failed (customers.pipeline.close_stale_runs).
    heartbeat_at = models.DateTimeField(_("last sign of life"), default=timezone.now)
    worker = models.CharField(
        _("worker"), max_length=200, blank=True, help_text=_("Host and process executing it.")
    )
    kept_aside_behind = models.DateField(
        _("kept aside behind"),
        null=True,
        blank=True,
        help_text=_("The date of the published run that this back-dated run was older than."),
    )
    closed_because = models.CharField(
        _("closed because"), max_length=20, choices=Closure, blank=True
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
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


class ImportJob(models.Model):
    """An import of an uploaded file, run by a worker: what was asked, how far it got, what
    it found. The upload and the rejects file live under MEDIA_ROOT (customers.imports.jobs)."""

    class Kind(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        ORDERS = "orders", _("Orders (purchases)")
        INVOICES = "invoices", _("Invoices (receivables)")
        PAYMENTS = "payments", _("Payments received")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting for a worker")
        CHECKING = "checking", _("Checking the whole file")
        WRITING = "writing", _("Writing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("what the file holds"), max_length=20, choices=Kind)
    source_name = models.CharField(_("file name"), max_length=255)
    # The upload's name under MEDIA_ROOT/imports: random, never typed by a user.
    stored_name = models.CharField(_("stored as"), max_length=100)
    file_size = models.PositiveBigIntegerField(_("file size (bytes)"), default=0)
    skip_invalid = models.BooleanField(_("skip the rows with errors"), default=False)
    dry_run = models.BooleanField(
        _("check only"), default=False, help_text=_("Check the whole file and write nothing.")
    )
    # Started on the site: the import may change only the customers its uploader may see
    # (the admin's imports are bounded by the admin's permissions instead).
    within_scope = models.BooleanField(_("limited to the uploader's customers"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    rows_checked = models.PositiveBigIntegerField(_("rows checked"), default=0)
    rows_written = models.PositiveBigIntegerField(_("rows written"), default=0)
    # The import's report: rows_read, created, updated, already_present, customers_created,
    # rejected, imported.
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    rejects_name = models.CharField(_("rejects file"), max_length=100, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    # The uploader's language, in which the worker words errors.
    language = models.CharField(_("language"), max_length=10, blank=True)
    created_at = models.DateTimeField(_("queued"), default=timezone.now)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Refreshed every few seconds while a worker runs the job; a job whose heartbeat stopped
    # is closed as failed (customers.imports.jobs.close_stale_import_jobs).
    heartbeat_at = models.DateTimeField(_("last sign of life"), default=timezone.now)
    worker = models.CharField(_("worker"), max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import job")
        verbose_name_plural = _("import jobs")
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="importjob_by_created_idx"),
            models.Index(
                fields=["status"],
                condition=Q(status__in=["queued", "checking", "writing"]),
                name="importjob_unfinished_idx",
            ),
        ]

    def __str__(self):
        return f"{self.source_name} ({self.get_status_display()})"

    @property
    def is_finished(self):
        return self.status in (self.Status.DONE, self.Status.FAILED)


class GradeChange(models.Model):
    """One change of a customer's credit grade: who (or the rule), when, old → new, why."""

    class Source(models.TextChoices):
        RULE = "rule", _("Rule")
        MANUAL = "manual", _("Manual")

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="grade_changes",
        db_index=False,
        verbose_name=_("customer"),
    )
    old_grade = models.CharField(_("old grade"), max_length=1, choices=Grade, blank=True)
    new_grade = models.CharField(_("new grade"), max_length=1, choices=Grade)
    # Either side may be "no credit history, treated as <grade>" (see no_credit_history_q).
    old_no_history = models.BooleanField(_("old: no credit history"), default=False)
    new_no_history = models.BooleanField(_("new: no credit history"), default=False)
    source = models.CharField(_("source"), max_length=10, choices=Source)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    changed_at = models.DateTimeField(_("changed"), default=timezone.now)
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    locked = models.BooleanField(_("locked"), default=False)
    run = models.ForeignKey(
        PipelineRun,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pipeline run"),
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("grade change")
        verbose_name_plural = _("grade changes")
        indexes = [
            models.Index(
                fields=["customer", "-changed_at", "-id"], name="gradechange_customer_idx"
            ),
        ]

    def __str__(self):
        return f"{self.old_grade or '—'} → {self.new_grade}"

    @property
    def is_worse(self):
        """A worse grade judged from payments; going to no credit history is not worse."""
        return not self.new_no_history and Grade.is_worse(self.new_grade, self.old_grade)


class GradePolicy(models.Model):
    """What each grade means for sales: credit limit, payment terms, recommended action."""

    DEFAULT_ACTIONS = {
        Grade.A: _("Strengthen the relationship: priority service and supply (重点加强)."),
        Grade.B: _("Consolidate: help the customer grow their business (巩固)."),
        Grade.C: _(
            "Be cautious: cash or short terms, help them improve, watch for a slide to D "
            "(区别对待)."
        ),
        Grade.D: _(
            "Collect what is owed (by legal means if needed), stop credit, phase out and "
            "develop a replacement in their region (追款、淘汰)."
        ),
    }

    grade = models.CharField(_("grade"), max_length=1, choices=Grade, unique=True)
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=14, decimal_places=2, validators=ranges.limit_validators()
    )
    payment_terms_days = models.PositiveIntegerField(
        _("payment terms (days)"),
        help_text=_("0 means cash on delivery."),
        validators=ranges.days_validators(least=0, most=ranges.MAX_TERMS_DAYS),
    )
    recommended_action = models.TextField(
        _("recommended action"),
        blank=True,
        help_text=_("Left empty, the standard advice for the grade is shown, translated."),
    )

    class Meta:
        ordering = ["grade"]
        verbose_name = _("grade policy")
        verbose_name_plural = _("grade policies")
        constraints = [
            ranges.limit_check("gradepolicy", "credit_limit"),
            ranges.days_check(
                "gradepolicy", "payment_terms_days", least=0, most=ranges.MAX_TERMS_DAYS
            ),
        ]

    def __str__(self):
        return self.get_grade_display()

    def action(self):
        return self.recommended_action or self.DEFAULT_ACTIONS[self.grade]


class CreditRules(SingletonSettings):
    """The thresholds of the nightly grading rule; one row, edited in admin."""

    window_days = models.PositiveIntegerField(
        _("look-back window (days)"),
        default=365,
        help_text=_("Invoices due within this many days before the run are judged."),
        validators=ranges.days_validators(least=1),
    )
    grace_days = models.PositiveIntegerField(
        _("grace (days)"),
        default=15,
        help_text=_("Paid at most this many days after the due date still counts as B."),
        validators=ranges.days_validators(least=0, most=ranges.MAX_TERMS_DAYS),
    )
    c_late_count = models.PositiveIntegerField(
        _("late payments for C"),
        default=2,
        help_text=_("This many invoices paid later than the grace period make a C."),
        validators=ranges.count_validators(),
    )
    d_overdue_days = models.PositiveIntegerField(
        _("days overdue for D"),
        default=90,
        help_text=_(
            "An invoice unpaid more than this many days past due makes a D, unless the "
            "customer paid enough of what is overdue in the payment period."
        ),
        validators=ranges.days_validators(least=1),
    )
    # The payment period of the D rule (the name dates from a rule on the last payment).
    d_silence_days = models.PositiveIntegerField(
        _("payment period for D (days)"),
        default=60,
        help_text=_("What the customer paid of the overdue amount is counted over these days."),
        validators=ranges.days_validators(least=1),
    )
    d_min_paid_percent = models.PositiveSmallIntegerField(
        _("share of overdue paid to avoid D (%)"),
        default=10,
        validators=[
            MinValueValidator(0, _("Enter a percentage from 0 to 100.")),
            MaxValueValidator(100, _("Enter a percentage from 0 to 100.")),
        ],
        help_text=_(
            "A customer with a long overdue invoice who paid less than this percentage of "
            "the overdue amount in the payment period gets D; small token payments do not "
            "count as paying. 0 never gives D for overdue alone; 100 always does."
        ),
    )
    default_grade = models.CharField(
        _("grade without credit history"),
        max_length=1,
        choices=Grade,
        default=Grade.B,
        help_text=_(
            "Customers with no invoice in the window are shown as having no credit history "
            "and treated as this grade: its credit limit, payment terms and advice apply."
        ),
    )

    class Meta:
        verbose_name = _("credit rules")
        verbose_name_plural = _("credit rules")
        constraints = [
            ranges.days_check("creditrules", "window_days", least=1),
            ranges.days_check("creditrules", "grace_days", least=0, most=ranges.MAX_TERMS_DAYS),
            ranges.count_check("creditrules", "c_late_count"),
            ranges.days_check("creditrules", "d_overdue_days", least=1),
            ranges.days_check("creditrules", "d_silence_days", least=1),
            ranges.check(
                ranges.between("d_min_paid_percent", 0, 100),
                name="creditrules_d_min_paid_percent_range",
                message=_("Enter a percentage from 0 to 100."),
            ),
        ]

    def clean(self):
        errors = {}
        if self.window_days < 1:
            errors["window_days"] = _("The window must be at least one day.")
        if self.c_late_count < 1:
            errors["c_late_count"] = _("At least one late payment is needed for C.")
        if self.d_silence_days < 1:
            errors["d_silence_days"] = _("Enter at least one day.")
        if self.grace_days >= self.d_overdue_days:
            errors["d_overdue_days"] = _(
                "The D limit must be longer than the grace period that separates B from C "
                "(%(grace)s days)."
            ) % {"grace": self.grace_days}
        if errors:
            raise ValidationError(errors)


class SectionSummary(models.Model):
    """The dashboard's and the start page's figures of one scope, computed once when a run
    is published (customers.summaries): pages read them instead of recomputing their
    totals over the run's snapshots on every request."""

    class Scope(models.TextChoices):
        COMPANY = "company", _("Company")
        TEAM = "team", _("Team")
        # The customers the user owns outside the teams they managed at the time.
        OWNER = "owner", _("Owner")

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="section_summaries")
    scope = models.CharField(_("scope"), max_length=10, choices=Scope)
    # The team's or the owner's id; 0 for the company.
    scope_id = models.PositiveIntegerField(_("scope id"), default=0)
    # Of an owner row: the teams the owner managed, whose customers the row leaves out.
    teams = models.JSONField(_("teams left out"), default=list, blank=True)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    # {section key: the section's figures}
    figures = models.JSONField(_("figures"), default=dict)

    class Meta:
        verbose_name = _("section summary")
        verbose_name_plural = _("section summaries")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "scope", "scope_id"], name="sectionsummary_run_scope"
            ),
        ]

    def __str__(self):
        return f"{self.run_id} {self.scope} {self.scope_id}"


# A snapshot model of the core (it needs PipelineRun above): registered with the others.
from customers.snapshots import CrossRegionSupply, PurchaseFigure  # noqa: E402, F401
