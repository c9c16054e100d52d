"""Enrol part of the demo customers as members, after `seed_demo`: a deterministic share
of those who ordered, joined a year ago, with their tiers from the 12-month spend and the
points of their orders since joining."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Order
from loyalty import services
from loyalty.models import Membership, TierChange


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Enrol every n-th customer who has ordered as a member who joined a year ago, set "
            "their tiers and earn the points of their orders since. Customers who are members "
            "already are left as they are, so running it again adds nobody."
        )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every", type=int, default=3, help=_("Enrol one customer in this many.")
        )

    @transaction.atomic
    def handle(self, *args, every, **options):
        if every < 1:
            raise CommandError(_("--every must be at least 1."))
        today = timezone.localdate()
        joined = services.year_before(today)
        ordered = Order.objects.filter(customer_id__in=Customer.objects.values("pk")).values(
            "customer_id"
        )
        candidates = Customer.objects.filter(pk__in=ordered).order_by("pk")
        members = set(Membership.objects.values_list("customer_id", flat=True))
        chosen = [
            pk
            for index, pk in enumerate(candidates.values_list("pk", flat=True))
            if index % every == 0 and pk not in members
        ]
        Membership.objects.bulk_create(
            [Membership(customer_id=pk, number=f"M{pk:08d}", joined_on=joined) for pk in chosen],
            batch_size=5000,
        )
        changes = services.tier_changes(as_of=today, customer_ids=chosen)
        moved = services.tier_changes_apply(changes, cause=TierChange.Cause.NIGHTLY)
        entries, points = services.points_award()
        self.stdout.write(
            _(
                "%(members)s members enrolled, %(moved)s above the standard tier, %(points)s points earned on %(entries)s orders."
            )
            % {"members": len(chosen), "moved": moved, "points": points, "entries": entries}
        )
