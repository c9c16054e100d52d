from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from customers.paging import paginate, query_without
from customers.selectors import customer_for
from lifecycle import rhythm
from lifecycle.forms import RhythmFilterForm, StageChangeForm
from lifecycle.models import ContactRhythmSettings, CustomerStage
from lifecycle.services import can_change_stage, stage_set


@require_http_methods(["GET", "POST"])
def stage_change(request, pk):
    """Change a customer's stage by hand: admins, and managers for their teams."""
    customer = customer_for(request.user, pk)
    title = _("Change the stage of %(name)s") % {"name": customer}
    context = {"customer": customer, "title": title, "form_id": "stage-form"}
    if not can_change_stage(request.user, customer):
        context["refusal"] = _(
            "Only admins and the managers of its team may change this customer's stage."
        )
        return render(request, "lifecycle/stage_form.html", context, status=403)
    current = CustomerStage.objects.filter(customer=customer).first()
    form = StageChangeForm(request.POST or None, initial={"stage": current and current.stage})
    if request.method == "POST" and form.is_valid():
        try:
            stage_set(customer=customer, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, field_errors in error.update_error_dict({}).items():
                for message in field_errors:
                    form.add_error(None if field == "__all__" else field, message)
        else:
            messages.success(request, _("Stage changed."))
            return redirect("customer-detail", pk=customer.pk)
    return render(request, "lifecycle/stage_form.html", {**context, "form": form})


def contact_rhythm(request):
    """The customers the viewer may see who are overdue for a contact, the most overdue
    first; or a festival's visit list; for a manager, optionally one rep's."""
    today = timezone.localdate()
    settings = ContactRhythmSettings.current()
    form = RhythmFilterForm(
        request.GET or None, user=request.user, festivals=rhythm.next_festivals(today)
    )
    festival = owner = None
    if form.is_bound and form.is_valid():
        festival, owner = form.chosen_festival(), form.cleaned_data["owner"]
    rows = rhythm.due_list(
        request.user, today=today, festival=festival, owner=owner, settings=settings
    )
    paginator, page = paginate(request, rows)
    rhythm.describe(page.object_list, settings, today)
    return render(
        request,
        "lifecycle/contact_rhythm.html",
        {
            "form": form,
            "festival": festival,
            "paginator": paginator,
            "page": page,
            "query": query_without(request),
            "settings": settings,
            "today": today,
        },
    )
