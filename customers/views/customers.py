"""The start page, the customer list and the customer file."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from customers import dashboards, panels, selectors, services
from customers.access import can_see_all_customers, managed_team_ids
from customers.export_columns import credit_history_cell
from customers.exporting import csv_response, xlsx_response
from customers.forms import CustomerForm, ReassignForm
from customers.models import Customer, PipelineRun
from customers.paging import paginate, query_without


def home(request):
    context = selectors.start_page(request.user)
    context["current_run"] = run = PipelineRun.objects.current()
    context["start_sections"] = dashboards.render_start(request, run)
    return render(request, "customers/home.html", context)


def follow_up_list(request):
    """The viewer's own follow-ups falling due, overdue or soon, soonest first."""
    due = request.GET.get("due", "")
    paginator, page = paginate(request, selectors.open_follow_ups(request.user, due=due))
    return render(
        request,
        "customers/follow_up_list.html",
        {
            "paginator": paginator,
            "page": page,
            "query": query_without(request),
            "due": due if due in ("overdue", "soon") else "",
            "days": selectors.DUE_SOON_DAYS,
            "today": timezone.localdate(),
        },
    )


def dashboard(request):
    """Figures over the customers the viewer may see: a rep's dashboard is the rep's own.
    They come from the current run's summaries of the viewer's scope (customers.summaries)."""
    run = PipelineRun.objects.current()
    return render(
        request,
        "customers/dashboard.html",
        {"sections": dashboards.render_context(request.user, run), "current_run": run},
    )


def customer_list(request):
    customer_filter = selectors.customer_list(request.user, request.GET)
    paginator, page = paginate(request, customer_filter.qs.prefetch_related("tags"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "customers/customer_list.html",
        {
            "filter": customer_filter,
            "supplier": selectors.list_supplier(request.user, customer_filter),
            "paginator": paginator,
            "page": page,
            "query": query.urlencode(),
            "current_run": PipelineRun.objects.current(),
        },
    )


EXPORT_HEADER = [
    "customer_ref",
    "name",
    "kind",
    "channel_role",
    "region",
    "phone",
    "email",
    "owner",
    "team",
    "outstanding",
    "overdue",
    # The grade in force and whether it rests on invoices (see customers.export_columns).
    "credit_grade",
    "credit_history",
]


def export_labels():
    """The export's column names in the users' words (the codes stay the machines')."""
    return {
        "customer_ref": _("Customer number"),
        "name": _("Customer name"),
        "kind": _("Kind"),
        "channel_role": _("Channel role"),
        "region": _("Region"),
        "phone": _("Phone"),
        "email": _("Email"),
        "owner": _("Owner"),
        "team": _("Team"),
        "outstanding": _("Outstanding"),
        "overdue": _("Overdue"),
        "credit_grade": _("Credit grade"),
        "credit_history": _("Has credit history"),
    }


def customer_export(request):
    """The filtered list as CSV (default) or XLSX; only what the viewer may see. In Chinese
    the columns and choices are named in Chinese; `codes=1` keeps the English codes."""
    customers = selectors.customer_list(request.user, request.GET).qs
    in_words = get_language().startswith("zh") and request.GET.get("codes") != "1"
    kinds, roles = dict(Customer.Kind.choices), dict(Customer.ChannelRole.choices)
    yes_no = {True: _("Yes"), False: _("No"), "": ""}

    def words(value, names):
        return str(names.get(value, value)) if in_words else value

    rows = (
        [
            customer.external_ref,
            customer.name,
            words(customer.kind, kinds),
            words(customer.channel_role, roles),
            customer.region,
            customer.phone,
            customer.email,
            customer.owner.username if customer.owner else "",
            customer.team.name if customer.team else "",
            customer.outstanding_amount,
            customer.overdue_amount,
            customer.credit_grade,
            words(credit_history_cell(customer.credit_grade, customer.has_credit_history), yes_no),
        ]
        for customer in customers.iterator(chunk_size=2000)
    )
    header = EXPORT_HEADER
    if in_words:
        labels = export_labels()
        header = [str(labels[name]) for name in EXPORT_HEADER]
    stamp = timezone.localdate().isoformat()
    if request.GET.get("format") == "xlsx":
        return xlsx_response(f"customers-{stamp}.xlsx", header, rows)
    return csv_response(f"customers-{stamp}.csv", header, rows)


def supplier_search(request):
    """Suggestions for the supplier box of the customer form, as JSON."""
    exclude = request.GET.get("exclude", "")
    suggestions = selectors.supplier_suggestions(
        request.user,
        request.GET.get("q", "")[:100],
        exclude=int(exclude) if exclude.isdigit() else None,
    )
    roles = dict(Customer.ChannelRole.choices)
    return JsonResponse(
        {
            "results": [
                {
                    "id": row["id"],
                    "ref": row["external_ref"],
                    "name": row["name"],
                    "role": str(roles.get(row["channel_role"], "")),
                    "region": row["region"],
                }
                for row in suggestions
            ]
        }
    )


def customer_detail(request, pk):
    customer = selectors.customer_for(request.user, pk)
    user = request.user
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "panels": panels.render_context(customer, user),
            "can_reassign": _can_reassign(user, customer),
            "supplier_visible": selectors.supplier_visible(user, customer),
            "current_run": PipelineRun.objects.current(),
        },
    )


@require_http_methods(["GET", "POST"])
def customer_create(request):
    form = CustomerForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        customer = services.customer_create(form=form, by=request.user)
        messages.success(request, _("Customer %(name)s created.") % {"name": customer.name})
        return redirect("customer-detail", pk=customer.pk)
    return render(request, "customers/form.html", {"form": form, "title": _("New customer")})


@require_http_methods(["GET", "POST"])
def customer_edit(request, pk):
    customer = selectors.customer_for(request.user, pk)
    form = CustomerForm(request.POST or None, instance=customer, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.customer_update(form=form, by=request.user)
        messages.success(request, _("Changes saved."))
        return redirect("customer-detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": customer, "title": _("Edit %(name)s") % {"name": customer}},
    )


@require_http_methods(["GET", "POST"])
def customer_reassign(request, pk):
    customer = selectors.customer_for(request.user, pk)
    if not _can_reassign(request.user, customer):
        raise PermissionDenied
    form = ReassignForm(request.POST or None, user=request.user, customer=customer)
    if request.method == "POST" and form.is_valid():
        services.customer_reassign(
            customer=customer,
            to=form.cleaned_data["owner"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
        messages.success(request, _("Customer reassigned."))
        return redirect("customer-detail", pk=customer.pk)
    return render(
        request,
        "customers/form.html",
        {"form": form, "customer": customer, "title": _("Reassign %(name)s") % {"name": customer}},
    )


def _can_reassign(user, customer):
    if can_see_all_customers(user):
        return True
    return customer.team_id in managed_team_ids(user)
