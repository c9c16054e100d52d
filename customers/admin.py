from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from customers.models import (
    Complaint,
    Contact,
    Customer,
    Document,
    Interaction,
    Invoice,
    OpenIssue,
    Order,
    Payment,
    PipelineRun,
    Tag,
    Team,
)


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]
    filter_horizontal = ["managers", "members"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0


class DocumentInline(admin.TabularInline):
    model = Document
    extra = 0
    fields = ["doc_type", "original_name", "size", "expires_on", "uploaded_by", "uploaded_at"]
    readonly_fields = ["original_name", "size", "uploaded_by", "uploaded_at"]

    def has_add_permission(self, request, obj=None):
        # Uploads go through the site's form, which checks type, size and content.
        return False


class OpenIssueInline(admin.TabularInline):
    model = OpenIssue
    extra = 0
    fields = ["title", "status", "opened_by", "opened_at", "closed_at"]
    raw_id_fields = ["opened_by"]


class ComplaintInline(admin.TabularInline):
    model = Complaint
    extra = 0
    fields = ["subject", "status", "received_at", "satisfaction"]
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = [
        "name",
        "external_ref",
        "channel_role",
        "region",
        "owner",
        "team",
        "outstanding_amount",
        "overdue_amount",
    ]
    list_filter = ["kind", "channel_role", "team", "source", "tags"]
    search_fields = ["name", "external_ref", "phone"]
    raw_id_fields = ["parent", "owner"]
    autocomplete_fields = ["tags"]
    readonly_fields = ["outstanding_amount", "overdue_amount", "created_at", "updated_at"]
    list_select_related = ["owner", "team"]
    show_full_result_count = False
    inlines = [ContactInline, OpenIssueInline, ComplaintInline, DocumentInline]
    fieldsets = [
        (
            None,
            {"fields": ["name", "external_ref", "kind", "channel_role", "terminal_type", "parent"]},
        ),
        (_("Contact"), {"fields": ["region", "address", "phone", "email", "source"]}),
        (_("Handling"), {"fields": ["owner", "team", "tags", "notes"]}),
        (_("Receivables"), {"fields": ["outstanding_amount", "overdue_amount"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["external_ref", "customer", "order_date", "amount", "quantity", "category"]
    list_filter = ["category"]
    date_hierarchy = "order_date"
    search_fields = ["external_ref", "customer__external_ref"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    show_full_result_count = False


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    raw_id_fields = ["customer"]


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["external_ref", "customer", "issue_date", "due_date", "amount"]
    date_hierarchy = "due_date"
    search_fields = ["external_ref", "customer__external_ref"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    inlines = [PaymentInline]
    show_full_result_count = False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["external_ref", "invoice", "customer", "paid_date", "amount"]
    date_hierarchy = "paid_date"
    search_fields = ["external_ref", "invoice__external_ref", "customer__external_ref"]
    raw_id_fields = ["invoice", "customer"]
    list_select_related = ["invoice", "customer"]
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["customer", "channel", "staff", "occurred_at", "next_follow_up"]
    list_filter = ["channel"]
    date_hierarchy = "occurred_at"
    search_fields = ["customer__name", "summary"]
    raw_id_fields = ["customer", "staff"]
    list_select_related = ["customer", "staff"]


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    list_display = ["subject", "customer", "status", "received_at", "resolved_at", "satisfaction"]
    list_filter = ["status"]
    search_fields = ["subject", "customer__name"]
    raw_id_fields = ["customer", "received_by", "resolved_by"]
    list_select_related = ["customer"]


@admin.register(OpenIssue)
class OpenIssueAdmin(admin.ModelAdmin):
    list_display = ["title", "customer", "status", "opened_at", "closed_at"]
    list_filter = ["status"]
    search_fields = ["title", "customer__name"]
    raw_id_fields = ["customer", "opened_by", "closed_by"]
    list_select_related = ["customer"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["customer", "doc_type", "original_name", "expires_on", "uploaded_at"]
    list_filter = ["doc_type"]
    search_fields = ["customer__name", "original_name"]
    raw_id_fields = ["customer", "uploaded_by"]
    readonly_fields = ["file", "original_name", "size", "uploaded_by", "uploaded_at"]
    list_select_related = ["customer"]

    def has_add_permission(self, request):
        return False


@admin.register(PipelineRun)
class PipelineRunAdmin(admin.ModelAdmin):
    list_display = ["as_of", "status", "started_at", "finished_at", "triggered_by"]
    list_filter = ["status"]
    readonly_fields = [
        "as_of",
        "status",
        "started_at",
        "finished_at",
        "published_at",
        "steps",
        "error",
        "triggered_by",
    ]

    def has_add_permission(self, request):
        return False
