"""Enrolment, redemption and adjustment from the customer file."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from customers.access import is_manager
from customers.paging import paginate, query_without
from customers.selectors import customer_for
from loyalty import selectors, services
from loyalty.forms import AdjustForm, RedeemForm
from loyalty.models import Membership, PointEntry, Tier

ENTRIES_PER_PAGE = 50


def _form_errors(form):
    return " ".join(
        f"{form.fields[field].label if field in form.fields else ''}: {error}".lstrip(": ")
        for field, errors in form.errors.items()
        for error in errors
    )


def _back(customer):
    return redirect("customer-detail", pk=customer.pk)


@require_POST
def enrol(request, pk):
    customer = customer_for(request.user, pk)
    try:
        membership = services.membership_enrol(customer=customer, by=request.user)
    except services.LoyaltyError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(name)s is now member %(number)s.")
            % {"name": customer.name, "number": membership.number},
        )
    return _back(customer)


@require_POST
def redeem(request, pk):
    customer = customer_for(request.user, pk)
    membership = get_object_or_404(Membership, customer=customer)
    form = RedeemForm(request.POST, prefix="redeem")
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(customer)
    try:
        services.points_redeem(
            membership=membership,
            points=form.cleaned_data["points"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except services.LoyaltyError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("%(points)s points redeemed.") % {"points": form.cleaned_data["points"]}
        )
    return _back(customer)


@require_POST
def adjust(request, pk):
    if not is_manager(request.user):
        raise PermissionDenied
    customer = customer_for(request.user, pk)
    membership = get_object_or_404(Membership, customer=customer)
    form = AdjustForm(request.POST, prefix="adjust")
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return _back(customer)
    try:
        services.points_adjust(
            membership=membership,
            points=form.cleaned_data["points"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except services.LoyaltyError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Points adjusted."))
    return _back(customer)


@require_GET
def member_list(request):
    queryset, filters = selectors.members(request.user, request.GET)
    paginator, page = paginate(request, queryset)
    return render(
        request,
        "loyalty/member_list.html",
        {
            "paginator": paginator,
            "page": page,
            "filters": filters,
            "tiers": Tier.choices,
            "statuses": Membership.Status.choices,
            "query": query_without(request),
        },
    )


@require_GET
def member_ledger(request, pk):
    customer = customer_for(request.user, pk)
    membership = get_object_or_404(Membership, customer=customer)
    queryset, kind = selectors.ledger(membership, request.GET)
    paginator, page = paginate(request, queryset, per_page=ENTRIES_PER_PAGE)
    return render(
        request,
        "loyalty/member_ledger.html",
        {
            "customer": customer,
            "membership": membership,
            "paginator": paginator,
            "page": page,
            "kind": kind,
            "kinds": PointEntry.Kind.choices,
            "query": query_without(request),
        },
    )
