"""Likely duplicates (重复客户): the checks of the site's form and of imports.

The rule and its keys are in customers.duplicate_keys. Only customers the viewer may see
are named; the others are counted.
"""

from dataclasses import dataclass, field

from django.db.models import Count, Q

from customers.access import can_see_all_customers
from customers.duplicate_keys import name_key, phone_key
from customers.models import Customer

# Matches named on the form; the others the viewer may see are counted.
SHOWN_MATCHES = 10
# Fields whose change on a customer form is checked against the other customers.
CHECKED_FIELDS = ("name", "region", "phone")


@dataclass
class Matches:
    """The customers that look like the one entered: those the viewer may see, and how
    many others exist (never named)."""

    shown: list = field(default_factory=list)
    visible: int = 0
    hidden: int = 0

    def __bool__(self):
        return bool(self.visible or self.hidden)


def matching_q(*, name="", region="", phone="") -> Q | None:
    """Customers matching on phone or on normalised name in the region; None if the values
    given cannot match anyone."""
    conditions = Q()
    key = name_key(name)
    if key:
        conditions |= Q(name_key=key, region=(region or "").strip())
    number = phone_key(phone)
    if number:
        conditions |= Q(phone_key=number)
    return conditions or None


def possible_duplicates(user, *, name="", region="", phone="", exclude=None) -> Matches:
    """Likely duplicates of a customer being entered, as `user` may learn of them: up to
    SHOWN_MATCHES visible ones named, the rest counted. Two queries."""
    conditions = matching_q(name=name, region=region, phone=phone)
    if conditions is None:
        return Matches()
    matching = Customer.objects.filter(conditions)
    if exclude is not None:
        matching = matching.exclude(pk=exclude)
    visible = Customer.objects.visible_to(user)
    if can_see_all_customers(user):
        # The same rule, without a subquery over every customer.
        total = matching.count()
        counts = {"total": total, "visible": total}
    else:
        counts = matching.aggregate(
            total=Count("pk"), visible=Count("pk", filter=Q(pk__in=visible.values("pk")))
        )
    if not counts["total"]:
        return Matches()
    shown = list(
        visible.filter(pk__in=matching.values("pk")).order_by("name", "pk")[:SHOWN_MATCHES]
    )
    number = phone_key(phone)
    for customer in shown:
        customer.same_phone = bool(number) and customer.phone_key == number
    return Matches(
        shown=shown, visible=counts["visible"], hidden=counts["total"] - counts["visible"]
    )


def form_duplicates(form, cleaned, user) -> Matches:
    """The likely duplicates a customer form (the site's or the admin's) warns of before
    saving, as `user` may learn of them: none when the form has errors, the user chose to
    save anyway (`save_anyway`), or an existing customer's name, region and phone are
    unchanged."""
    if form.errors or user is None or form.data.get("save_anyway") == "1":
        return Matches()
    instance = form.instance
    if instance.pk and not set(CHECKED_FIELDS) & set(form.changed_data):
        return Matches()
    return possible_duplicates(
        user,
        name=cleaned.get("name", instance.name),
        region=cleaned.get("region", instance.region),
        phone=cleaned.get("phone", instance.phone),
        exclude=instance.pk,
    )
