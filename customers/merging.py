"""Merging two files of one customer (合并重复客户): the survivor keeps its file and takes
over every row of the merged-away customer, which is then deleted.

The rows to move are found generically, through `Customer._meta.related_objects`: every
table with a key to the customer, in this app or any other, including one added later,
moves without this module naming it. For each such key:

- snapshot rows of the nightly runs (`customers.snapshots.RunSnapshot`) are dropped for
  the merged-away customer: the survivor has its own row in each run, and the next run
  scores the survivor with the merged orders;
- rows that a unique constraint would let only one of the two customers hold (a one-to-one
  key such as a membership or the live lifecycle stage, a unique (customer, …) constraint,
  with its condition) are a conflict. An app decides what a conflict on its table means
  with `register_conflict_rule` from its `AppConfig.ready()`: the survivor's row is kept
  and the other dropped (`KEEP_SURVIVOR`, counted as dropped), or the merge is refused
  with the app's words. Without a rule the merge is refused, naming the table;
- everything else moves: orders, invoices, payments, contacts, the contact log,
  complaints, documents, open issues, follow-up plans, grade and stage changes, earlier
  merges; the customers the merged one supplied are supplied by the survivor.

Tags are added to the survivor's; blank identity fields of the survivor (region, address,
phone, email, source channel, supplier) are filled from the merged customer. The merged
customer's own change history stays under its old id (a trail of that file, ended by the
merge); the survivor's history gets a row naming the merge, and a `CustomerMerge` keeps
who, when, the old reference and the counts. All of it is one transaction with both
customers locked; before the merged customer is deleted, every table is counted again and
any row left behind undoes the whole merge, so no row is lost to a cascade.
"""

from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, UniqueConstraint
from django.utils.translation import gettext as _

from customers import contact_log, history, network, records
from customers.models import Customer, CustomerMerge, Invoice, Order, Payment
from customers.signals import invoices_changed, orders_changed, payments_changed
from customers.snapshots import RunSnapshot

KEEP_SURVIVOR = "keep_survivor"
REFUSE = "refuse"
# Identity fields the survivor takes from the merged customer where its own are blank.
FILLED_FIELDS = ("region", "address", "phone", "email", "source")
ANNOUNCED = {Order: orders_changed, Invoice: invoices_changed, Payment: payments_changed}


class MergeRefused(Exception):
    """The merge cannot be done; the message says why in the user's words."""


@dataclass(frozen=True)
class ConflictRule:
    on_conflict: str
    # With REFUSE: the message, with %(survivor)s and %(merged)s (the customers' names).
    refusal: str | None = None


_rules: dict[str, ConflictRule] = {}


def register_conflict_rule(model, *, on_conflict, refusal=None):
    """What a merge does when both customers hold a row of `model` that only one may hold:
    KEEP_SURVIVOR drops the merged customer's, REFUSE stops the merge with `refusal`."""
    if on_conflict not in (KEEP_SURVIVOR, REFUSE):
        raise ValueError(f"Unknown conflict rule {on_conflict!r}")
    _rules[model._meta.label] = ConflictRule(on_conflict=on_conflict, refusal=refusal)


@dataclass
class TableCount:
    """One key to the customer and what the merge does with its rows."""

    key: str
    label: str
    survivor_rows: int
    merged_rows: int
    moved: int = 0
    dropped: int = 0
    refusal: str = ""


@dataclass
class MergePlan:
    survivor: Customer
    merged: Customer
    tables: list[TableCount] = field(default_factory=list)

    @property
    def refusals(self) -> list[str]:
        return [table.refusal for table in self.tables if table.refusal]

    @property
    def moved(self) -> dict[str, int]:
        return {table.key: table.moved for table in self.tables if table.moved}

    @property
    def dropped(self) -> dict[str, int]:
        return {table.key: table.dropped for table in self.tables if table.dropped}


def relations():
    """Every key from another table to Customer, as (relation key, model, field name)."""
    found = []
    for relation in Customer._meta.related_objects:
        if relation.many_to_many:
            through, fk = relation.through, relation.field.m2m_reverse_field_name()
            found.append((f"{through._meta.label}.{fk}", through, fk))
            continue
        model, name = relation.related_model, relation.field.name
        found.append((f"{model._meta.label}.{name}", model, name))
    for m2m in Customer._meta.many_to_many:
        through = m2m.remote_field.through
        fk = m2m.m2m_field_name()
        found.append((f"{through._meta.label}.{fk}", through, fk))
    return found


def table_label(key) -> str:
    """A relation key as people read it: the table's plural name (and the key's, if not the
    customer)."""
    label, name = key.rsplit(".", 1)
    try:
        model = apps.get_model(label)
    except LookupError:
        return key
    text = str(model._meta.verbose_name_plural)
    if name != "customer":
        text += f" ({model._meta.get_field(name).verbose_name})"
    return text


def _unique_sets(model, name):
    """The unique constraints a row keyed by `name` is under, as (other fields, condition)."""
    field_ = model._meta.get_field(name)
    sets = []
    if field_.unique:
        sets.append(((), None))
    for constraint in model._meta.constraints:
        if isinstance(constraint, UniqueConstraint) and name in (constraint.fields or ()):
            others = tuple(f for f in constraint.fields if f != name)
            sets.append((others, constraint.condition))
    for together in model._meta.unique_together:
        if name in together:
            sets.append((tuple(f for f in together if f != name), None))
    return sets


def _conflicting(model, name, survivor, merged):
    """The merged customer's rows that the survivor's rows would collide with."""
    rows = model._default_manager.filter(**{name: merged})
    conditions = Q(pk__in=[])
    for others, condition in _unique_sets(model, name):
        theirs = model._default_manager.filter(**{name: survivor})
        mine = Q()
        if condition is not None:
            theirs = theirs.filter(condition)
            mine &= condition
        theirs = theirs.filter(**{other: OuterRef(other) for other in others})
        conditions |= mine & Q(Exists(theirs))
    return rows.filter(conditions)


def _is_membership(model):
    """Tag-like rows (a many-to-many table): a pair both hold is one pair, not a conflict."""
    return model._meta.auto_created


def merge_plan(*, survivor, merged) -> MergePlan:
    """What merging `merged` into `survivor` would move, drop, or why it is refused; two or
    three queries per table."""
    plan = MergePlan(survivor=survivor, merged=merged)
    for key, model, name in relations():
        manager = model._default_manager
        count = TableCount(
            key=key,
            label=table_label(key),
            survivor_rows=manager.filter(**{name: survivor}).count(),
            merged_rows=manager.filter(**{name: merged}).count(),
        )
        plan.tables.append(count)
        if not count.merged_rows:
            continue
        if issubclass(model, RunSnapshot):
            count.dropped = count.merged_rows
            continue
        conflicts = 0
        if count.survivor_rows and _unique_sets(model, name):
            conflicts = _conflicting(model, name, survivor, merged).count()
        if conflicts:
            rule = _rules.get(model._meta.label, ConflictRule(REFUSE))
            if rule.on_conflict == REFUSE and not _is_membership(model):
                refusal = rule.refusal or _(
                    "Both customers have %(table)s that only one customer may have; "
                    "resolve that first."
                ) % {"table": count.label}
                count.refusal = str(refusal) % {"survivor": survivor.name, "merged": merged.name}
                continue
            count.dropped = conflicts
        count.moved = count.merged_rows - count.dropped
    return plan


def check_merge(*, survivor, merged, by):
    """Refuse what no merge may do: a customer into itself, or one `by` may not see."""
    if survivor.pk == merged.pk:
        raise MergeRefused(_("A customer cannot be merged into itself."))
    visible = Customer.objects.visible_to(by).filter(pk__in=[survivor.pk, merged.pk]).count()
    if visible != 2:
        raise MergeRefused(_("You may only merge customers you can see."))


@transaction.atomic
def customer_merge(*, survivor, merged, by) -> CustomerMerge:
    """Move every row of `merged` to `survivor` and delete `merged`, as the module's
    docstring says; refused (MergeRefused, nothing written) on a conflict no rule settles."""
    check_merge(survivor=survivor, merged=merged, by=by)
    locked = Customer.objects.select_for_update().filter(pk__in=[survivor.pk, merged.pk])
    locked = {customer.pk: customer for customer in locked.order_by("pk")}
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    plan = merge_plan(survivor=survivor, merged=merged)
    if plan.refusals:
        raise MergeRefused(" ".join(plan.refusals))
    history.baseline_record(survivor)
    _take_place_in_network(survivor, merged)
    announced = {}
    # The plan counted each table under the lock: only those holding rows of `merged` move.
    for (_key, model, name), table in zip(relations(), plan.tables, strict=True):
        if not table.merged_rows:
            continue
        rows = model._default_manager.filter(**{name: merged})
        if model in ANNOUNCED:
            announced[model] = list(rows.values_list("pk", flat=True))
        if issubclass(model, RunSnapshot):
            rows.delete()
            continue
        if _unique_sets(model, name):
            _conflicting(model, name, survivor, merged).delete()
        rows.update(**{name: survivor})
    left = [key for key, model, name in relations() if _rows_left(model, name, merged)]
    if left:
        raise RuntimeError(f"Rows left on the merged customer: {', '.join(left)}")
    record = CustomerMerge.objects.create(
        survivor=survivor,
        merged_customer_id=merged.pk,
        merged_ref=merged.external_ref,
        merged_name=merged.name,
        merged_by=by,
        moved=plan.moved,
        dropped=plan.dropped,
    )
    _fill_blanks(survivor, merged)
    merged._change_reason = _("Merged into %(ref)s") % {"ref": survivor.external_ref}
    merged.delete()
    survivor._change_reason = (
        _("Merged with %(name)s (%(ref)s)") % {"name": merged.name, "ref": merged.external_ref}
    )[:100]
    survivor.save()
    records.balances_refresh(customer_ids=[survivor.pk])
    # The merged customer's contact log is the survivor's now.
    contact_log.refresh_last_contact([survivor.pk])
    for model, ids in announced.items():
        records.announce(ANNOUNCED[model], model, ids, [survivor.pk, merged.pk])
    return record


def _rows_left(model, name, merged):
    return model._default_manager.filter(**{name: merged}).exists()


def _take_place_in_network(survivor, merged):
    """A survivor below the merged customer takes its place: supplied by whoever supplied
    the merged one, so that no supplier loop closes when the merged one's buyers move."""
    if network.creates_cycle(merged.pk, survivor.pk):
        survivor.parent_id = merged.parent_id
        Customer.objects.filter(pk=survivor.pk).update(parent_id=merged.parent_id)


def _fill_blanks(survivor, merged):
    for name in FILLED_FIELDS:
        if not getattr(survivor, name) and getattr(merged, name):
            setattr(survivor, name, getattr(merged, name))
    if (
        survivor.parent_id is None
        and merged.parent_id not in (None, survivor.pk)
        and not network.creates_cycle(survivor.pk, merged.parent_id)
    ):
        survivor.parent_id = merged.parent_id
