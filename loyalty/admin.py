from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.admin import ReadOnlyAdmin, SingletonSettingsAdmin
from customers.models import Customer
from loyalty import services
from loyalty.models import LoyaltySettings, Membership, PointEntry, Promotion, TierChange


@admin.register(LoyaltySettings)
class LoyaltySettingsAdmin(SingletonSettingsAdmin):
    list_display = [
        "__str__",
        "points_per_unit",
        "standard_multiplier",
        "silver_multiplier",
        "gold_multiplier",
        "platinum_multiplier",
        "silver_from",
        "gold_from",
        "platinum_from",
    ]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Members are enrolled from the customer file; here an admin suspends or closes one."""

    list_display = ["number", "customer", "tier", "status", "balance", "joined_on"]
    list_filter = ["tier", "status"]
    search_fields = ["number", "customer__name", "customer__external_ref"]
    list_select_related = ["customer"]
    fields = ["number", "customer", "tier", "status", "balance", "joined_on", "enrolled_by"]
    readonly_fields = ["number", "customer", "tier", "balance", "joined_on", "enrolled_by"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PointEntry)
class PointEntryAdmin(ReadOnlyAdmin):
    """The ledger: read only, as the database keeps it."""

    list_display = ["created_at", "membership", "kind", "points", "order", "created_by", "reason"]
    list_filter = ["kind"]
    search_fields = ["membership__number", "membership__customer__name"]
    list_select_related = ["membership__customer", "created_by", "order"]
    show_full_result_count = False


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "membership", "from_tier", "to_tier", "spend", "cause"]
    list_filter = ["to_tier", "cause"]
    search_fields = ["membership__number", "membership__customer__name"]
    list_select_related = ["membership__customer"]


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    """Admins create member promotions; an end before the start is refused."""

    list_display = [
        "name",
        "kind",
        "starts_on",
        "ends_on",
        "multiplier",
        "spend_threshold",
        "bonus_points",
        "tier",
        "value_tier",
        "segment",
    ]
    list_filter = ["kind", "tier", "value_tier", "segment"]
    search_fields = ["name"]
    date_hierarchy = "starts_on"

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.action(description=gettext_lazy("Enrol the selected customers as members"))
def enrol_selected(modeladmin, request, queryset):
    enrolled, members = services.memberships_enrol(customers=queryset, by=request.user)
    modeladmin.message_user(
        request,
        _("Enrolled: %(enrolled)s; members already: %(members)s.")
        % {"enrolled": enrolled, "members": members},
        messages.SUCCESS,
    )


# Bulk enrolment from the customers' admin list, filtered as the admin likes.
_customer_admin = admin.site.get_model_admin(Customer)
_customer_admin.actions = [*_customer_admin.actions, enrol_selected]
