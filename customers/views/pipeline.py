"""The nightly pipeline's pages: its runs, one run, starting a run by hand and closing one
whose worker is gone."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from customers.access import can_see_all_customers, can_see_runs, can_start_runs
from customers.models import PipelineRun
from customers.paging import paginate
from customers.pipeline import (
    PipelineAlreadyRunning,
    closure_text,
    describe_summary,
    pipeline_close,
    pipeline_start,
)
from customers.tasks import queue_pipeline_run

RUNS_PER_PAGE = 20


class RunStartForm(forms.Form):
    as_of = forms.DateField(
        label=gettext_lazy("Data as of"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy(
            "Leave empty for today. Payments and invoices after it are ignored. A date before "
            "the published data's is computed for comparison only and changes nothing."
        ),
        error_messages={"invalid": gettext_lazy("Enter the date as YYYY-MM-DD, e.g. 2026-01-31.")},
    )

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"] or timezone.localdate()
        if as_of > timezone.localdate():
            raise forms.ValidationError(
                gettext_lazy("The date cannot be in the future: there are no data for it yet.")
            )
        return as_of


def _require(allowed):
    # Sales reps see the "data as of" line on their pages, not the runs themselves.
    if not allowed:
        raise PermissionDenied


@require_http_methods(["GET", "POST"])
def run_list(request):
    _require(can_see_runs(request.user))
    may_start = can_start_runs(request.user)
    if request.method == "POST":
        _require(may_start)
    form = None
    if may_start:
        data = request.POST if request.method == "POST" else None
        form = RunStartForm(data, initial={"as_of": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            run = pipeline_start(as_of=form.cleaned_data["as_of"], by=request.user)
        except PipelineAlreadyRunning:
            form.add_error(
                None, _("Another run is still running; start again once it has finished.")
            )
        else:
            _queue(request, run)
            return redirect("pipeline-run-detail", pk=run.pk)
    paginator, page = paginate(
        request,
        PipelineRun.objects.select_related("triggered_by", "closed_by"),
        per_page=RUNS_PER_PAGE,
    )
    show_figures = can_see_all_customers(request.user)
    return render(
        request,
        "customers/pipeline_run_list.html",
        {
            "form": form,
            "paginator": paginator,
            "page": page,
            "runs": [_with_display_fields(run, show_figures) for run in page],
            "current_run": PipelineRun.objects.current(),
            "show_figures": show_figures,
        },
    )


def _queue(request, run):
    """Send the started run to a worker and say, in one message, what happened."""
    queue_pipeline_run(run.pk)
    # Sent at once unless a transaction is open; a run that could not be sent is closed.
    run.refresh_from_db(fields=["status", "closed_because", "finished_at"])
    if run.closed_because == PipelineRun.Closure.NOT_SENT:
        messages.error(request, closure_text(run))
    elif run.kept_aside_behind is not None:
        messages.info(
            request,
            _(
                "The run as of %(date)s has started. It is dated before the published data "
                "(as of %(current)s), so it will be kept aside for comparison and change "
                "nothing."
            )
            % {"date": run.as_of, "current": run.kept_aside_behind},
        )
    else:
        messages.success(request, _("The run as of %(date)s has started.") % {"date": run.as_of})


@require_GET
def run_detail(request, pk):
    _require(can_see_runs(request.user))
    run = get_object_or_404(PipelineRun.objects.select_related("triggered_by", "closed_by"), pk=pk)
    show_figures = can_see_all_customers(request.user)
    return render(
        request,
        "customers/pipeline_run_detail.html",
        {
            "run": _with_display_fields(run, show_figures),
            "current_run": PipelineRun.objects.current(),
            "show_figures": show_figures,
            "may_close": run.status == PipelineRun.Status.RUNNING and can_start_runs(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def run_close(request, pk):
    """Close a run still marked running, after confirmation: for a worker that is gone
    before the heartbeat check has noticed."""
    _require(can_start_runs(request.user))
    run = get_object_or_404(PipelineRun.objects.select_related("triggered_by"), pk=pk)
    if run.status != PipelineRun.Status.RUNNING:
        messages.info(request, _("This run is no longer running; there is nothing to close."))
        return redirect("pipeline-run-detail", pk=run.pk)
    if request.method == "POST":
        if pipeline_close(run, closure=PipelineRun.Closure.BY_HAND, by=request.user):
            messages.success(
                request, _("Run #%(id)s was closed as failed; it published nothing.") % {"id": pk}
            )
        else:
            messages.info(request, _("This run finished meanwhile; nothing was closed."))
        return redirect("pipeline-run-detail", pk=run.pk)
    return render(
        request,
        "customers/pipeline_run_close.html",
        {"run": _with_display_fields(run, show_figures=False)},
    )


def _with_display_fields(run, show_figures):
    """Add what the templates show but the row does not hold: duration, the error's headline
    in the reader's language, the steps' summaries in words (for those who may see what the
    runs add up to). For display only; the run is not saved afterwards."""
    end = run.finished_at or timezone.now()
    run.duration = format_duration(max(0.0, (end - run.started_at).total_seconds()))
    closure = closure_text(run)
    run.error_headline = closure or (run.error.splitlines()[0] if run.error else "")
    # A closure's technical detail follows its reason, as pipeline_close records it.
    run.error_detail = run.error.partition("\n\n")[2] if closure else run.error
    for step in run.steps:
        step["summary_items"] = (
            describe_summary(step["name"], step.get("summary", {})) if show_figures else []
        )
    return run


def format_duration(seconds):
    """`4.2 s` under a minute, `1:02:03` (h:mm:ss) from a minute on."""
    if seconds < 60:
        return _("%(seconds).1f s") % {"seconds": seconds}
    minutes, whole_seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{whole_seconds:02d}"
