"""Contact rhythm (拜访节奏): whom a rep is overdue to contact.

Each value tier has a target interval between two contacts (ContactRhythmSettings:
key 30 days, ordinary 60, small 90 by default). A *contact* is an entry of the
contact log (customers.Interaction), by anyone, on any channel. A customer's next
contact falls due one interval after the last one (after the customer was created,
if never contacted); the customer is *overdue* from the day after: contacted exactly
30 days ago, a key customer is due today and not yet overdue, 31 days ago one day
overdue. The tier is the customer's in the current run; a customer without one (no
order yet, or no run) takes the small customers' interval. Customers in the
termination stage (lost, 流失) are left out: they are the win-back list's, not the
visiting round's.

Festival visit lists (元旦, 春节) are a filter of the same list: the customers whose
next contact falls due before the festival, or who were not contacted within the
visit window (`festival_days`) before it, so that everyone is seen on the eve.
"""

import datetime as dt
import heapq
import itertools
from dataclasses import dataclass

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.access import can_see_all_customers, is_manager, managed_team_ids
from customers.models import Customer, Interaction, PipelineRun, visible_parts
from lifecycle.models import ContactRhythmSettings, CustomerStage, Stage
from segmentation.models import RfmScore, ValueTier

START_PAGE_ROWS = 8

# 春节: the first day of the lunar year. Years past the table offer New Year's Day only.
SPRING_FESTIVALS = {
    2025: dt.date(2025, 1, 29),
    2026: dt.date(2026, 2, 17),
    2027: dt.date(2027, 2, 6),
    2028: dt.date(2028, 1, 26),
    2029: dt.date(2029, 2, 13),
    2030: dt.date(2030, 2, 3),
    2031: dt.date(2031, 1, 23),
    2032: dt.date(2032, 2, 11),
    2033: dt.date(2033, 1, 31),
    2034: dt.date(2034, 2, 19),
    2035: dt.date(2035, 2, 8),
}
NEW_YEAR, SPRING_FESTIVAL = "new_year", "spring_festival"
FESTIVAL_NAMES = {NEW_YEAR: _("New Year's Day"), SPRING_FESTIVAL: _("Spring Festival")}


@dataclass(frozen=True)
class Festival:
    key: str
    day: dt.date

    @property
    def name(self):
        return FESTIVAL_NAMES[self.key]


def next_festivals(today) -> list[Festival]:
    """The next New Year's Day and the next Spring Festival after `today` (on the day
    itself the visits are over: the next year's is offered)."""
    festivals = [Festival(NEW_YEAR, dt.date(today.year + 1, 1, 1))]
    spring = [day for day in SPRING_FESTIVALS.values() if day > today]
    if spring:
        festivals.append(Festival(SPRING_FESTIVAL, min(spring)))
    return sorted(festivals, key=lambda festival: festival.day)


def festival_by_key(key, today):
    return next((f for f in next_festivals(today) if f.key == key), None)


def _start_of(day):
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _interval(days_by_tier):
    whens = [
        When(rhythm_tier=tier, then=Value(dt.timedelta(days=days)))
        for tier, days in days_by_tier.items()
        if tier != ValueTier.SMALL
    ]
    return Case(
        *whens,
        default=Value(dt.timedelta(days=days_by_tier[ValueTier.SMALL])),
        output_field=DurationField(),
    )


# The moment a customer's rhythm counts from: its last contact, else its creation (the
# expression of Customer's rhythm indexes).
RHYTHM_BASE = Coalesce(F("last_contact_at"), F("created_at"))


def own_work(customers, user):
    """For those who see every customer, the start page keeps to their own book: the
    customers they own or their teams'. Company-wide, the list page has them all."""
    if not can_see_all_customers(user):
        return customers
    return customers.filter(Q(owner=user) | Q(team__in=managed_team_ids(user)))


def rhythm_customers(user, settings=None, *, joined=False):
    """The customers `user` may see that the rhythm covers (not in the termination stage),
    each with `last_contact_at`, `rhythm_tier` and `due_at` (the moment the
    next contact falls due), the most overdue first. No query until evaluated.

    The tier is one probe of the run's (run, customer) index per customer read (what a
    capped count wants); `joined`: joined to the run's scores instead, for the lists'
    streams (the planner then knows a tier's share and walks the rhythm index) and the
    per-rep table, which reads a whole book (a hash of the run's scores costs less than
    a probe per customer there). The stage is one primary-key probe; the last contact is
    the customer's own column (Customer.last_contact_at, kept by the contact log's write
    path)."""
    settings = settings or ContactRhythmSettings.current()
    lost = CustomerStage.objects.filter(customer=OuterRef("pk"), stage=Stage.TERMINATION)
    customers = Customer.objects.visible_to(user).filter(~Exists(lost))
    if joined:
        customers = customers.annotate(
            rhythm_score=FilteredRelation(
                "rfmscore", condition=Q(rfmscore__run_id=PipelineRun.objects.current_id())
            ),
        )
        tier = F("rhythm_score__value_tier")
    else:
        tier = Subquery(
            RfmScore.objects.filter(
                run_id=PipelineRun.objects.current_id(), customer=OuterRef("pk")
            ).values("value_tier")[:1]
        )
    return (
        customers.select_related("owner")
        .annotate(
            rhythm_base=RHYTHM_BASE,
            rhythm_tier=tier,
            due_at=ExpressionWrapper(
                RHYTHM_BASE + _interval(settings.interval_days()),
                output_field=DateTimeField(),
            ),
        )
        .order_by("due_at", "id")
    )


def overdue_q(today) -> Q:
    """Overdue on `today`: the next contact fell due on an earlier day."""
    return Q(due_at__lt=_start_of(today))


def festival_q(festival, settings) -> Q:
    """On the festival's visit list: due before the festival, or not contacted within the
    visit window before it."""
    window_start = festival.day - dt.timedelta(days=settings.festival_days)
    return Q(due_at__lt=_start_of(festival.day)) | Q(
        Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=_start_of(window_start))
    )


def _tier_streams(customers, settings, *, today=None, parts=None):
    """`customers` split by value tier, each stream in due order: the moment the rhythm
    counts from (last contact, else creation; Customer's rhythm index) plus the tier's
    one interval. Overdue on `today`: that moment is before today less the interval, a
    range of the index. [(days, queryset)]."""
    days_by_tier = settings.interval_days()
    named = [tier for tier in days_by_tier if tier != ValueTier.SMALL]
    streams = []
    for tier, days in days_by_tier.items():
        if tier == ValueTier.SMALL:
            rows = customers.filter(Q(rhythm_tier__isnull=True) | ~Q(rhythm_tier__in=named))
        else:
            rows = customers.filter(rhythm_tier=tier)
        if today is not None:
            rows = rows.filter(rhythm_base__lt=_start_of(today) - dt.timedelta(days=days))
        # One stream per part of the viewer's book (own customers, each team's), each an
        # ordered range of its own index; the whole table's for those who see everyone.
        for part in parts if parts and len(parts) > 1 else [Q()]:
            streams.append((days, rows.filter(part).order_by("rhythm_base", "id")))
    return streams


class DueRows:
    """The rows of a contact-rhythm list, the most overdue first, for a paginator: counted
    (up to the cap) with one query, read as a merge of one stream per value tier, each
    an ordered range of the rhythm index (one query per tier), so that the first pages
    cost the same at a million customers as at a thousand. The rows are
    `rhythm_customers`' (with `due_at`)."""

    def __init__(self, customers, streams):
        self.customers = customers
        self.streams = streams

    def order_by(self, *fields):
        return self.customers.order_by(*fields)

    def count(self):
        return self.customers.order_by().count()

    def __len__(self):
        return self.count()

    def __getitem__(self, index):
        if isinstance(index, int):
            return self[index : index + 1][0]
        start, stop = index.start or 0, index.stop
        if stop is None:
            stop = self.count()
        if stop <= start:
            return []
        rows = heapq.merge(
            *(list(stream[:stop]) for _days, stream in self.streams),
            key=lambda customer: (customer.due_at, customer.pk),
        )
        # A customer in two parts of the book (a manager's own, in the team) comes twice,
        # one right after the other.
        unique = (next(group) for _pk, group in itertools.groupby(rows, key=lambda c: c.pk))
        return list(itertools.islice(unique, start, stop))


def due_list(user, *, today=None, festival=None, owner=None, settings=None, start=False):
    """The list page's rows (DueRows): overdue on `today`, or on the festival's visit list
    (`start`: the start page's, see own_work)."""
    settings = settings or ContactRhythmSettings.current()
    today = today or timezone.localdate()

    def book(joined):
        customers = rhythm_customers(user, settings, joined=joined)
        if start:
            customers = own_work(customers, user)
        if owner is not None:
            customers = customers.filter(owner=owner)
        if festival is not None:
            customers = customers.filter(festival_q(festival, settings))
        return customers

    # Counted with a probe of the tier per customer (the count stops at the cap); streamed
    # with the tier joined, which the planner estimates well enough to walk the index.
    counted, streamed = book(joined=False), book(joined=True)
    parts = None if start and can_see_all_customers(user) else visible_parts(user)
    if festival is not None:
        return DueRows(counted, _tier_streams(streamed, settings, parts=parts))
    return DueRows(
        counted.filter(overdue_q(today)),
        _tier_streams(streamed, settings, today=today, parts=parts),
    )


def describe(customers, settings, today):
    """Add `days_overdue` (or `days_left`), the tier's name and `interval_days`, and the
    last contact's channel to listed customers: no query (the channel is stored with the
    last contact)."""
    days_by_tier = settings.interval_days()
    for customer in customers:
        customer.last_channel = customer.last_contact_channel
        customer.interval_days = days_by_tier.get(customer.rhythm_tier, settings.small_days)
        customer.tier_label = ValueTier(customer.rhythm_tier).label if customer.rhythm_tier else ""
        due = timezone.localtime(customer.due_at).date()
        customer.days_overdue = (today - due).days
        customer.days_left = -customer.days_overdue
        customer.last_channel_label = (
            Interaction.Channel(customer.last_channel).label if customer.last_channel else ""
        )
    return customers


def by_rep(user, *, today, settings=None):
    """Per owner of the customers `user` may see (see own_work): customers, on time, overdue and the share
    contacted on time, the lowest share first. One grouped query."""
    overdue = overdue_q(today)
    rows = (
        own_work(rhythm_customers(user, settings, joined=True), user)
        .order_by()
        .values("owner", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(customers=Count("pk"), overdue=Count("pk", filter=overdue))
    )
    table = []
    for row in rows:
        owner = None
        if row["owner"] is not None:
            owner = get_user_model()(
                pk=row["owner"],
                username=row["owner__username"],
                first_name=row["owner__first_name"],
                last_name=row["owner__last_name"],
            )
        on_time = row["customers"] - row["overdue"]
        table.append(
            {
                "owner": owner,
                "customers": row["customers"],
                "on_time": on_time,
                "overdue": row["overdue"],
                "share": on_time / row["customers"],
            }
        )
    return sorted(table, key=lambda r: (r["share"], -r["overdue"], r["owner"] is None))


def start_block(user, *, today=None):
    """The start page's card: the viewer's most overdue customers and how many are overdue;
    a manager's also per rep. Three queries besides the viewer's roles (settings, rows,
    count), four for a manager."""
    today = today or timezone.localdate()
    settings = ContactRhythmSettings.current()
    overdue = due_list(user, today=today, settings=settings, start=True)
    rows = describe(list(overdue[:START_PAGE_ROWS]), settings, today)
    count = len(rows)
    if count == START_PAGE_ROWS:
        count = overdue.order_by()[: django_settings.LIST_COUNT_CAP + 1].count()
    manager = is_manager(user) and (not can_see_all_customers(user) or bool(managed_team_ids(user)))
    return {
        "rows": rows,
        "overdue": count,
        "count_cap": django_settings.LIST_COUNT_CAP,
        "user_is_manager": manager,
        "per_rep": by_rep(user, today=today, settings=settings) if manager else [],
        "settings": settings,
    }
