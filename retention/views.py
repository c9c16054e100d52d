"""The managers' churn-risk list with its exports, and follow-up plans."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.access import is_manager
from customers.exporting import csv_response, xlsx_response
from customers.models import PipelineRun
from customers.paging import paginate, query_without
from customers.selectors import DUE_SOON_DAYS
from retention import selectors, services
from retention.forms import PlanCreateForm, PlanOutcomeForm
from retention.models import FollowUpPlan
from retention.reasons import reason_texts

PLANS_PER_PAGE = 50
DUE_FILTERS = ("overdue", "soon")


def _risk_list_page(request, params, plan_form=None):
    run = PipelineRun.objects.current()
    churn_filter = selectors.churn_list(request.user, params, run)
    accuracy = selectors.churn_accuracy(run)
    paginator, page = paginate(request, churn_filter.qs)
    query = params.copy()
    query.pop("page", None)
    if plan_form is None and is_manager(request.user):
        plan_form = PlanCreateForm(user=request.user)
    return render(
        request,
        "retention/risk_list.html",
        {
            "filter": churn_filter,
            "paginator": paginator,
            "page": page,
            "query": query.urlencode(),
            "plan_form": plan_form,
            "selected": {str(pk) for pk in request.POST.getlist("customers")},
            "current_run": run,
            "accuracy": accuracy,
            "accuracy_warning": any(warning for _text, warning in accuracy),
        },
    )


@require_GET
def risk_list(request):
    return _risk_list_page(request, request.GET)


def _lost_list_page(request, params, plan_form=None):
    lost_filter = selectors.lost_list(request.user, params)
    paginator, page = paginate(request, lost_filter.qs)
    selectors.lost_details(page.object_list)
    query = params.copy()
    query.pop("page", None)
    if plan_form is None and is_manager(request.user):
        plan_form = PlanCreateForm(user=request.user)
    return render(
        request,
        "retention/lost_list.html",
        {
            "filter": lost_filter,
            "paginator": paginator,
            "page": page,
            "query": query.urlencode(),
            "plan_form": plan_form,
            "selected": {str(pk) for pk in request.POST.getlist("customers")},
            "current_run": PipelineRun.objects.current(),
        },
    )


@require_GET
def lost_list(request):
    """Lost customers (流失客户) as win-back prospects."""
    return _lost_list_page(request, request.GET)


# The lists plans are made from: (their page, their URL name).
PLAN_LISTS = {
    "risk": (_risk_list_page, "churn-risk-list"),
    "lost": (_lost_list_page, "lost-customer-list"),
}


@require_POST
def plan_create(request):
    """Plans for the rows ticked in a list (the risk list, or the lost customers' for
    win-back plans); invalid input shows the list again with errors."""
    if not is_manager(request.user):
        raise PermissionDenied
    form = PlanCreateForm(request.POST, user=request.user)
    params = QueryDict(request.POST.get("query", ""))
    list_page, list_url = PLAN_LISTS.get(request.POST.get("list", ""), PLAN_LISTS["risk"])
    if not form.is_valid():
        return list_page(request, params, plan_form=form)
    customers = form.cleaned_data["customers"]
    plans = services.follow_up_plans_create(
        customers=customers,
        assignee=form.cleaned_data["assignee"],
        due_date=form.cleaned_data["due_date"],
        channel=form.cleaned_data["channel"],
        note=form.cleaned_data["note"],
        by=request.user,
        run=PipelineRun.objects.current(),
    )
    messages.success(
        request,
        ngettext(
            "%(count)s follow-up plan created.", "%(count)s follow-up plans created.", len(plans)
        )
        % {"count": len(plans)},
    )
    skipped = len(customers) - len(plans)
    if skipped:
        messages.info(
            request,
            ngettext(
                "%(count)s customer already had an open plan and got no new one.",
                "%(count)s customers already had an open plan and got no new one.",
                skipped,
            )
            % {"count": skipped},
        )
    target = reverse(list_url)
    return redirect(f"{target}?{params.urlencode()}" if params else target)


EXPORT_HEADER = [
    "customer_ref",
    "name",
    "owner",
    "team",
    "credit_grade",
    "value_tier",
    "risk_band",
    "churn_risk",
    "value",
    "value_at_risk",
    "reasons",
]


@require_GET
def risk_export(request):
    """The filtered list as CSV (default) or XLSX, reasons in the reader's language."""
    run = PipelineRun.objects.current()
    scores = selectors.churn_list(request.user, request.GET, run).qs
    rows = (
        [
            score.customer.external_ref,
            score.customer.name,
            score.customer.owner.get_username() if score.customer.owner else "",
            score.customer.team.name if score.customer.team else "",
            score.customer.credit_grade,
            score.value_tier,
            score.band,
            score.risk,
            score.value,
            score.value_at_risk,
            "; ".join(reason_texts(score.reasons)),
        ]
        for score in scores.iterator(chunk_size=2000)
    )
    stamp = run.as_of.isoformat() if run else timezone.localdate().isoformat()
    if request.GET.get("format") == "xlsx":
        return xlsx_response(f"churn-risk-{stamp}.xlsx", EXPORT_HEADER, rows)
    return csv_response(f"churn-risk-{stamp}.csv", EXPORT_HEADER, rows)


@require_GET
def plan_list(request):
    """Open plans by due date (or done / cancelled / all): one's own, and a manager's
    teams'; narrowed to overdue or due soon (`due`) and to one assignee (`assignee`)."""
    status = request.GET.get("status", FollowUpPlan.Status.OPEN)
    mine = request.GET.get("mine") == "1"
    due = request.GET.get("due", "")
    due = due if due in DUE_FILTERS else ""
    assignee = request.GET.get("assignee", "")
    assignee = int(assignee) if assignee.isdigit() else None
    plans = selectors.plan_list(request.user, status=status, mine=mine, due=due, assignee=assignee)
    paginator, page = paginate(request, plans, PLANS_PER_PAGE)
    return render(
        request,
        "retention/plan_list.html",
        {
            "paginator": paginator,
            "page": page,
            "query": query_without(request),
            "without_due": query_without(request, "due"),
            "without_assignee": query_without(request, "assignee"),
            "status": status,
            "mine": mine,
            "due": due,
            "days": DUE_SOON_DAYS,
            "assignee": assignee,
            "statuses": FollowUpPlan.Status.choices,
            "today": timezone.localdate(),
            "current_run": PipelineRun.objects.current(),
        },
    )


@require_http_methods(["GET", "POST"])
def plan_detail(request, pk):
    """A plan and, while it is open, the form to record its outcome; 404 for others' plans."""
    plan = get_object_or_404(
        selectors.plans_for(request.user).select_related(
            "customer", "assignee", "created_by", "completed_by"
        ),
        pk=pk,
    )
    form = None
    if plan.status == FollowUpPlan.Status.OPEN:
        form = PlanOutcomeForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            services.follow_up_plan_complete(plan=plan, by=request.user, **form.cleaned_data)
            messages.success(request, _("Outcome recorded."))
            return redirect("follow-up-plans")
    elif request.method == "POST":
        messages.info(request, _("This plan is closed already."))
        return redirect("follow-up-plan-detail", pk=plan.pk)
    return render(
        request,
        "retention/plan_detail.html",
        {"plan": plan, "form": form, "today": timezone.localdate()},
    )
