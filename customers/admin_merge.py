"""Merging two customers in the admin: select two in the list, run "Merge two customers",
pick the one to keep, look at what moves, confirm (customers.merging does the work)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from customers import merging
from customers.models import Customer


class MergeForm(forms.Form):
    """The two customers (`ids`, "a,b") and the one kept (`keep`), as the page carries them."""

    ids = forms.CharField()
    keep = forms.IntegerField(required=False)

    def clean_ids(self):
        parts = self.cleaned_data["ids"].split(",")
        if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
            raise forms.ValidationError(_("Choose exactly two customers to merge."))
        first, second = (int(part) for part in parts)
        if first == second:
            raise forms.ValidationError(_("A customer cannot be merged into itself."))
        return first, second


class MergeMixin:
    """The merge action and page of the customer admin."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "merge/",
                self.admin_site.admin_view(require_http_methods(["GET", "POST"])(self.merge_view)),
                name="{}_{}_merge".format(*info),
            ),
            *super().get_urls(),
        ]

    def has_merge_permission(self, request):
        """Merging deletes one customer and changes the other."""
        return self.has_delete_permission(request) and self.has_change_permission(request)

    @admin.action(description=gettext_lazy("Merge two customers"), permissions=["merge"])
    def merge_customers(self, request, queryset):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(
                request, _("Choose exactly two customers to merge."), messages.WARNING
            )
            return None
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_merge")
        return redirect(f"{url}?ids={ids[0]},{ids[1]}")

    def merge_view(self, request):
        if not self.has_merge_permission(request):
            raise PermissionDenied
        form = MergeForm(request.POST or request.GET)
        changelist = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
        if not form.is_valid():
            for errors in form.errors.values():
                self.message_user(request, " ".join(errors), messages.ERROR)
            return redirect(changelist)
        first, second = form.cleaned_data["ids"]
        visible = Customer.objects.visible_to(request.user).select_related("owner", "team")
        found = {customer.pk: customer for customer in visible.filter(pk__in=[first, second])}
        if len(found) != 2:
            self.message_user(
                request, _("You may only merge customers you can see."), messages.ERROR
            )
            return redirect(changelist)
        keep = form.cleaned_data["keep"] if form.cleaned_data["keep"] in found else first
        survivor, merged = found[keep], found[second if keep == first else first]
        if request.method == "POST":
            try:
                merging.customer_merge(survivor=survivor, merged=merged, by=request.user)
            except merging.MergeRefused as refusal:
                self.message_user(request, str(refusal), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("%(merged)s (%(ref)s) was merged into %(survivor)s.")
                    % {
                        "merged": merged.name,
                        "ref": merged.external_ref,
                        "survivor": survivor.name,
                    },
                    messages.SUCCESS,
                )
                return redirect(
                    reverse(
                        f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                        args=[survivor.pk],
                    )
                )
        plan = merging.merge_plan(survivor=survivor, merged=merged)
        return TemplateResponse(
            request,
            "admin/customers/customer/merge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Merge two customers"),
                "plan": plan,
                "customers": [found[first], found[second]],
                "ids": f"{first},{second}",
            },
        )
