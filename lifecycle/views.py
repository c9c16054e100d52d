from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from customers.selectors import customer_for
from lifecycle.forms import StageChangeForm
from lifecycle.models import CustomerStage
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
