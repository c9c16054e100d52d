from django import forms
from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from simple_history.admin import SimpleHistoryAdmin

from customers import contact_log, duplicates, history, network, numbering, records
from customers.admin_imports import ImportMixin
from customers.admin_merge import MergeMixin
from customers.credit.services import grade_set, grades_set
from customers.models import (
    Complaint,
    Contact,
    CreditRules,
    Customer,
    CustomerMerge,
    Document,
    Grade,
    GradeChange,
    GradePolicy,
    Interaction,
    Invoice,
    OpenIssue,
    Order,
    Payment,
    PipelineRun,
    Tag,
    Team,
)
from customers.paging import CappedPaginator
from customers.people import person_column


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
    fields = [
        "doc_type",
        "original_name",
        "size",
        "expires_on",
        person_column(Document, "uploaded_by"),
        "uploaded_at",
    ]
    readonly_fields = fields[1:3] + fields[4:]

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


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the nightly run or the audit trail: looked at, never edited."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SnapshotAdmin(ReadOnlyAdmin):
    """Snapshot rows (customers.snapshots.RunSnapshot): read-only, found by customer, and
    counted only up to a cap, as the customer list is: a run writes a million rows."""

    list_select_related = ["customer", "run"]
    search_fields = ["customer__external_ref", "customer__name"]
    raw_id_fields = ["customer", "run"]
    paginator = CappedPaginator
    show_full_result_count = False


class SingletonSettingsAdmin(admin.ModelAdmin):
    """One-row settings (customers.singletons.SingletonSettings): where the list would be,
    the form of the values in force: the saved row's, or the defaults until an admin
    saves them. No second row, no delete."""

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self.model.saved() is None

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        context = {**(extra_context or {}), "show_save_and_add_another": False}
        row = self.model.saved()
        if row is not None:
            return self.change_view(request, str(row.pk), extra_context=context)
        if self.has_add_permission(request):
            return self.add_view(request, extra_context=context)
        return super().changelist_view(request, extra_context)


GRADE_FIELDS = ["credit_grade", "grade_locked", "grade_lock_reason", "refuses_to_pay"]


class CustomerAdminForm(forms.ModelForm):
    grade_change_reason = forms.CharField(
        label=_("Reason for the grade change"),
        required=False,
        max_length=255,
        help_text=_("Required when you change the grade or its lock; kept in the grade history."),
    )

    class Meta:
        model = Customer
        # The admin builds the real field list from its fieldsets.
        fields = GRADE_FIELDS

    # Who is editing (set by CustomerAdmin.get_form): matches are named as they may see them.
    user = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.duplicates = duplicates.Matches()
        if self.instance.pk is None and "external_ref" in self.fields:
            self.fields["external_ref"].required = False
            self.fields["external_ref"].help_text = _(
                "Left empty, the next customer number is assigned."
            )

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if parent is not None and network.creates_cycle(self.instance.pk, parent.pk):
            raise forms.ValidationError(network.SUPPLIER_CYCLE)
        return parent

    def clean(self):
        cleaned = super().clean()
        if {"credit_grade", "grade_locked"} & set(self.changed_data):
            if not cleaned.get("credit_grade"):
                self.add_error("credit_grade", _("Choose a grade."))
            reason = cleaned.get("grade_change_reason", "").strip()
            if not reason and not (
                cleaned.get("grade_locked") and cleaned.get("grade_lock_reason")
            ):
                self.add_error("grade_change_reason", _("Say why the grade changes."))
        self._check_duplicates(cleaned)
        return cleaned

    def _check_duplicates(self, cleaned):
        """As on the site's form: refuse, once, to save a customer that looks like one
        already recorded, naming the matches with links to their admin pages; the warning
        carries a "save anyway" box."""
        self.duplicates = duplicates.form_duplicates(self, cleaned, self.user)
        if self.duplicates:
            warning = render_to_string(
                "admin/customers/customer/_duplicates.html", {"duplicates": self.duplicates}
            )
            raise forms.ValidationError(mark_safe(warning), code="duplicate")


class GradeChangeInline(admin.TabularInline):
    model = GradeChange
    extra = 0
    fields = [
        "changed_at",
        "old_grade",
        "old_no_history",
        "new_grade",
        "new_no_history",
        "source",
        person_column(GradeChange, "changed_by"),
        "locked",
        "reason",
    ]
    readonly_fields = fields
    can_delete = False
    ordering = ["-changed_at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("changed_by")


class SetGradeForm(forms.Form):
    credit_grade = forms.ChoiceField(label=_("Credit grade"), choices=Grade.choices)
    grade_locked = forms.BooleanField(label=_("Lock the grade"), required=False)
    grade_lock_reason = forms.CharField(
        label=_("Reason for the lock"), required=False, max_length=255
    )
    reason = forms.CharField(label=_("Reason for the change"), max_length=255)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("grade_locked") and not cleaned.get("grade_lock_reason", "").strip():
            self.add_error("grade_lock_reason", _("Say why the grade is locked."))
        return cleaned


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    list_display = ["merged_at", "merged_ref", "merged_name", "survivor", "merged_by"]
    search_fields = ["merged_ref", "merged_name", "survivor__external_ref", "survivor__name"]
    list_select_related = ["survivor", "merged_by"]
    raw_id_fields = ["survivor"]


@admin.register(Customer)
class CustomerAdmin(ImportMixin, MergeMixin, SimpleHistoryAdmin):
    import_kind = "customers"
    form = CustomerAdminForm
    actions = ["set_credit_grade", "merge_customers"]
    list_display = [
        "name",
        "external_ref",
        "channel_role",
        "region",
        person_column(Customer, "owner"),
        "team",
        "credit_grade",
        "suggested_grade",
        "grade_locked",
        "outstanding_amount",
        "overdue_amount",
    ]
    list_filter = ["credit_grade", "grade_locked", "kind", "channel_role", "team", "source", "tags"]
    search_fields = ["name", "external_ref", "phone"]
    raw_id_fields = ["parent", "owner"]
    autocomplete_fields = ["tags"]
    readonly_fields = [
        "outstanding_amount",
        "overdue_amount",
        "suggested_grade",
        "has_credit_history",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["owner", "team"]
    show_full_result_count = False
    inlines = [GradeChangeInline, ContactInline, OpenIssueInline, ComplaintInline, DocumentInline]
    fieldsets = [
        (
            None,
            {"fields": ["name", "external_ref", "kind", "channel_role", "terminal_type", "parent"]},
        ),
        (_("Contact"), {"fields": ["region", "address", "phone", "email", "source"]}),
        (_("Handling"), {"fields": ["owner", "team", "tags", "notes"]}),
        (
            _("Credit grade"),
            {
                "fields": [
                    "credit_grade",
                    "suggested_grade",
                    "has_credit_history",
                    "grade_locked",
                    "grade_lock_reason",
                    "refuses_to_pay",
                    "grade_change_reason",
                ]
            },
        ),
        (_("Receivables"), {"fields": ["outstanding_amount", "overdue_amount"]}),
        (_("Record"), {"fields": ["created_at", "updated_at"]}),
    ]

    # The history page lists each change as on the customer file: field, old → new.
    object_history_list_template = "admin/customers/customer/history_list.html"

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Changes are described once, for the page, by render_history_view."""

    def render_history_view(self, request, template, context, **kwargs):
        if "page_obj" in context:
            records = list(context["page_obj"].object_list)
            older = records[-1].prev_record if records else None
            context["history_entries"] = history.entries(records, older=older)
        return super().render_history_view(request, template, context, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A subclass per request: the duplicate check names what this user may see.
        return type(form.__name__, (form,), {"user": request.user})

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.has_perm("customers.change_credit_grade"):
            readonly += GRADE_FIELDS
        return readonly

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.has_perm("customers.change_credit_grade"):
            return fieldsets
        # The reason is a form field, not the customer's: shown read-only it has no value.
        return [
            (
                name,
                {**options, "fields": [f for f in options["fields"] if f != "grade_change_reason"]},
            )
            for name, options in fieldsets
        ]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("customers.change_credit_grade"):
            actions.pop("set_credit_grade", None)
        return actions

    def save_model(self, request, obj, form, change):
        if change:
            history.baseline_record(obj)
        elif not obj.external_ref:
            obj.external_ref = numbering.next_reference()
        grade_edit = change and {"credit_grade", "grade_locked", "grade_lock_reason"} & set(
            form.changed_data
        )
        if not grade_edit:
            return super().save_model(request, obj, form, change)
        wanted = (obj.credit_grade, obj.grade_locked, obj.grade_lock_reason)
        stored = Customer.objects.get(pk=obj.pk)
        obj.credit_grade, obj.grade_locked, obj.grade_lock_reason = (
            stored.credit_grade,
            stored.grade_locked,
            stored.grade_lock_reason,
        )
        super().save_model(request, obj, form, change)
        grade_set(
            customer=obj,
            grade=wanted[0],
            locked=wanted[1],
            lock_reason=wanted[2],
            reason=form.cleaned_data.get("grade_change_reason", ""),
            by=request.user,
        )
        obj.refresh_from_db()

    @admin.action(description=_("Set the credit grade of the selected customers"))
    def set_credit_grade(self, request, queryset):
        form = SetGradeForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            count = grades_set(
                customers=queryset,
                grade=data["credit_grade"],
                locked=data["grade_locked"],
                lock_reason=data["grade_lock_reason"],
                reason=data["reason"],
                by=request.user,
            )
            self.message_user(
                request,
                ngettext(
                    "Grade set for %(count)d customer.", "Grade set for %(count)d customers.", count
                )
                % {"count": count},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/customers/customer/set_grade.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Set the credit grade"),
                "form": form,
                "customers": queryset,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


class RecordsAdmin(ImportMixin, admin.ModelAdmin):
    """Orders, invoices and payments are added, changed and deleted (one or a selection)
    through the `customers.records` services, `<entity>_record`, `<entity>_change` and
    `<entities>_delete`, which keep balances right and tell other apps after commit."""

    def save_model(self, request, obj, form, change):
        entity = self.opts.model_name
        service = getattr(records, f"{entity}_change" if change else f"{entity}_record")
        service(**{entity: obj})

    def delete_model(self, request, obj):
        self.delete_queryset(request, self.model.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        entities = f"{self.opts.model_name}s"
        getattr(records, f"{entities}_delete")(**{entities: queryset})


class CancelOrdersForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the cancellation"), max_length=255)


@admin.register(Order)
class OrderAdmin(RecordsAdmin):
    import_kind = "orders"
    actions = ["cancel_orders"]
    list_display = [
        "external_ref",
        "customer",
        "order_date",
        "amount",
        "quantity",
        "category",
        "status",
    ]
    list_filter = ["status", "category"]
    date_hierarchy = "order_date"
    search_fields = ["external_ref", "customer__external_ref"]
    raw_id_fields = ["customer"]
    readonly_fields = ["status", "cancelled_at", "cancelled_by", "cancel_reason"]
    list_select_related = ["customer"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        # A cancelled order is kept as it was: looked at, deleted, never edited.
        if obj is not None and obj.is_cancelled:
            return False
        return super().has_change_permission(request, obj)

    @admin.action(description=_("Cancel the selected orders"), permissions=["change"])
    def cancel_orders(self, request, queryset):
        form = CancelOrdersForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            count = len(
                records.orders_cancel(
                    orders=queryset, reason=form.cleaned_data["reason"], by=request.user
                )
            )
            self.message_user(
                request,
                ngettext("%(count)d order cancelled.", "%(count)d orders cancelled.", count)
                % {"count": count},
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/customers/order/cancel.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Cancel orders"),
                "form": form,
                "orders": queryset.select_related("customer"),
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    # The customer is the invoice's.
    fields = ["external_ref", "paid_date", "amount"]


@admin.register(Invoice)
class InvoiceAdmin(RecordsAdmin):
    import_kind = "invoices"
    list_display = ["external_ref", "customer", "issue_date", "due_date", "amount"]
    date_hierarchy = "due_date"
    search_fields = ["external_ref", "customer__external_ref"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    inlines = [PaymentInline]
    show_full_result_count = False

    def save_formset(self, request, form, formset, change):
        """The payments typed on the invoice's page go through the records services too."""
        if formset.model is not Payment:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for payment in formset.deleted_objects:
            records.payment_delete(payment=payment)
        for payment in formset.new_objects:
            records.payment_record(payment=payment)
        for payment, _changed in formset.changed_objects:
            records.payment_change(payment=payment)
        return None


@admin.register(Payment)
class PaymentAdmin(RecordsAdmin):
    import_kind = "payments"
    list_display = ["external_ref", "invoice", "customer", "paid_date", "amount"]
    date_hierarchy = "paid_date"
    search_fields = ["external_ref", "invoice__external_ref", "customer__external_ref"]
    raw_id_fields = ["invoice"]
    # The customer is the invoice's.
    readonly_fields = ["customer"]
    list_select_related = ["invoice", "customer"]
    show_full_result_count = False


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = [
        "customer",
        "channel",
        person_column(Interaction, "staff"),
        "occurred_at",
        "next_follow_up",
    ]
    list_filter = ["channel"]
    date_hierarchy = "occurred_at"
    search_fields = ["customer__name", "summary"]
    raw_id_fields = ["customer", "staff"]
    list_select_related = ["customer", "staff"]

    # Through the log's one write path: the customer's stored last contact follows.
    def save_model(self, request, obj, form, change):
        contact_log.interaction_save(obj)

    def delete_model(self, request, obj):
        contact_log.interaction_delete(obj)

    def delete_queryset(self, request, queryset):
        contact_log.interaction_delete(queryset)


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
    list_display = [
        "as_of",
        "status",
        "started_at",
        "finished_at",
        person_column(PipelineRun, "triggered_by"),
    ]
    list_filter = ["status"]
    list_select_related = ["triggered_by"]
    readonly_fields = [
        "as_of",
        "status",
        "started_at",
        "finished_at",
        "published_at",
        "steps",
        "error",
        person_column(PipelineRun, "triggered_by"),
        "heartbeat_at",
        "worker",
        "kept_aside_behind",
        "closed_because",
        person_column(PipelineRun, "closed_by"),
    ]
    exclude = ["triggered_by", "closed_by"]

    def has_add_permission(self, request):
        return False


@admin.register(GradeChange)
class GradeChangeAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "old_grade",
        "new_grade",
        "new_no_history",
        "source",
        person_column(GradeChange, "changed_by"),
        "changed_at",
        "locked",
        "reason",
    ]
    list_filter = ["source", "new_grade", "locked"]
    search_fields = ["customer__name", "customer__external_ref", "reason"]
    list_select_related = ["customer", "changed_by"]
    date_hierarchy = "changed_at"
    show_full_result_count = False


@admin.register(GradePolicy)
class GradePolicyAdmin(admin.ModelAdmin):
    list_display = ["grade", "credit_limit", "payment_terms_days", "action"]

    @admin.display(description=_("recommended action"))
    def action(self, policy):
        return policy.action()

    def has_add_permission(self, request):
        return not GradePolicy.objects.exists() or GradePolicy.objects.count() < len(Grade)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CreditRules)
class CreditRulesAdmin(SingletonSettingsAdmin):
    list_display = [
        "__str__",
        "window_days",
        "grace_days",
        "c_late_count",
        "d_overdue_days",
        "d_silence_days",
        "d_min_paid_percent",
        "default_grade",
    ]
