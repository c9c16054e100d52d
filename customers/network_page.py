"""The network page: the whole tree below a distributor, and its cross-region signals.

Every customer below the distributor is read once (the recursive walk of
customers.network), with whether the viewer may see it. Customers the viewer may
see are named with their purchases over the last 12 months (their own and their
sub-network's, counting only what the viewer may see), their credit grade and the
columns other apps add (value tier, churn risk) through `register_column`. A customer
the viewer may not see is never named: it is counted under its supplier, and shown as
an unnamed node only where customers the viewer may see hang below it.

Cross-region selling (窜货) signal: orders do not record whom a customer bought from
(each customer has one supplier, `Customer.parent`), so "buys from more than one
supplier" cannot be read from the data; the signal is a customer whose region differs
from its supplier's (both regions filled in). The supplier's region is shown only when
the viewer may see the supplier.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q, Value

from customers.access import can_see_all_customers
from customers.models import Customer, Grade, PipelineRun, no_credit_history_q
from customers.network import PURCHASES, purchases_since, self_and_below_q, with_purchases

# Customers named on the page at most; a bigger network shows its first part in tree order,
# and each node links to its own network page for the rest below it. Rendering is the
# page's largest cost (some 1 ms a node on a loaded two-core machine), so the page stays
# small; the roll-ups still cover the whole network.
MAX_SHOWN = 200


@dataclass(frozen=True)
class NodeColumn:
    key: str
    header: str
    load: Callable[[list[int]], dict[int, tuple[str, str]]]
    order: int


_columns: dict[str, NodeColumn] = {}


def register_column(*, key, header, load, order=100):
    """Add a column to every node of the tree: `load(ids)` returns {customer id: (text,
    css class)} for the customers it knows, in one query."""
    _columns[key] = NodeColumn(key=key, header=header, load=load, order=order)


def columns():
    return sorted(_columns.values(), key=lambda column: (column.order, column.key))


@dataclass
class Node:
    pk: int
    parent_id: int | None
    visible: bool
    name: str = ""
    external_ref: str = ""
    channel_role: str = ""
    region: str = ""
    credit_grade: str = ""
    no_credit_history: bool = False
    grade_locked: bool = False
    purchases: Decimal = Decimal(0)
    network_purchases: Decimal = Decimal(0)
    depth: int = 0
    children: list = field(default_factory=list)
    hidden: int = 0  # customers right below it that the viewer may not see
    cells: list = field(default_factory=list)
    supplier: "Node | None" = None

    def get_credit_grade_display(self):
        return Grade(self.credit_grade).label if self.credit_grade else ""

    @property
    def role_label(self):
        return Customer.ChannelRole(self.channel_role).label if self.channel_role else ""

    @property
    def crosses_region(self):
        supplier = self.supplier
        return bool(
            self.visible
            and supplier is not None
            and self.region
            and supplier.region
            and self.region != supplier.region
        )


def _nodes(root, user):
    """Every customer below `root`, and `root` itself, with whether `user` may see it and,
    if so, what the page shows of it and its purchases (the current run's figure): one
    query."""
    customers = with_purchases(Customer.objects.filter(self_and_below_q(root.pk)))
    if can_see_all_customers(user):
        visible = Value(True)
    else:
        visible = Exists(Customer.objects.visible_to(user).filter(pk=OuterRef("pk")))
    rows = (
        customers.annotate(
            visible=visible, no_history=no_credit_history_q(), purchases=F(PURCHASES)
        )
        .order_by()
        .values_list(
            "pk",
            "parent_id",
            "visible",
            "name",
            "external_ref",
            "channel_role",
            "region",
            "credit_grade",
            "no_history",
            "grade_locked",
            "purchases",
        )
    )
    return {
        row[0]: Node(*row[:3], *row[3:10], row[10] or Decimal(0)) if row[2] else Node(*row[:3])
        for row in rows
    }


def _root_node(root):
    return Node(
        root.pk,
        root.parent_id,
        True,
        root.name,
        root.external_ref,
        root.channel_role,
        root.region,
        root.credit_grade,
        root.no_credit_history,
        root.grade_locked,
    )


ROLE_ORDER = {role: position for position, role in enumerate(Customer.ChannelRole.values)}


def _link(root_node, nodes):
    for node in nodes.values():
        supplier = root_node if node.parent_id == root_node.pk else nodes.get(node.parent_id)
        node.supplier = supplier
        if supplier is not None:
            supplier.children.append(node)
    for node in [root_node, *nodes.values()]:
        # Wholesalers before terminals; the unnamed (not visible) sort by id among them.
        node.children.sort(
            key=lambda child: (ROLE_ORDER.get(child.channel_role, 9), child.name, child.pk)
        )


def _walk(root_node):
    """Depth-first order from the root (iterative: no recursion limit, and a loop in old
    data is walked once)."""
    order, stack, seen = [], [(root_node, 0)], set()
    while stack:
        node, depth = stack.pop()
        if node.pk in seen:
            continue
        seen.add(node.pk)
        node.depth = depth
        order.append(node)
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return order


def _prune(order):
    """Fold away the customers the viewer may not see: counted under their supplier, kept
    as an unnamed node only above customers the viewer may see. Returns the kept nodes in
    order; sums each node's network purchases over what the viewer may see."""
    keeps = {}
    for node in reversed(order):
        node.network_purchases = node.purchases if node.visible else Decimal(0)
        kept_children = []
        for child in node.children:
            if not keeps.get(child.pk):
                node.hidden += 1
                continue
            kept_children.append(child)
            node.network_purchases += child.network_purchases
        node.children = kept_children
        keeps[node.pk] = node.visible or bool(kept_children)
    return [node for node in order if keeps.get(node.pk)]


def network_tree(root, user):
    """The tree below `root` (a customer `user` may see) as the page shows it. Two queries
    (the run's date, the nodes with their purchases) and one per registered column."""
    run = PipelineRun.objects.published().values_list("as_of", flat=True).first()
    nodes = _nodes(root, user)
    root_node = _root_node(root)
    itself = nodes.pop(root.pk, None)
    root_node.purchases = itself.purchases if itself else Decimal(0)
    _link(root_node, nodes)
    kept, truncated = _first(_prune(_walk(root_node)), MAX_SHOWN + 1)
    shown = [node for node in kept if node.visible]
    ids = [node.pk for node in shown]
    for column in columns():
        values = column.load(ids)
        for node in shown:
            node.cells.append(values.get(node.pk, ("", "")))
    return {
        "root": root_node,
        "events": _events(kept[1:]),
        "columns": columns(),
        "shown_count": len(shown) - 1,
        "hidden_count": sum(node.hidden + (not node.visible) for node in kept),
        "truncated": truncated,
        "cross_region": [node for node in shown if node.crosses_region],
        "since": purchases_since(run) if run else None,
        "as_of": run,
    }


def _first(kept, most):
    """The nodes in tree order up to the `most`-th named one, and whether any were cut."""
    named = 0
    for position, node in enumerate(kept):
        named += node.visible
        if named > most:
            return kept[:position], True
    return kept, False


def _events(kept):
    """The tree as a flat list for the template: ("open", node) starts a <details>,
    ("leaf", node) a line, ("close", None) ends the innermost <details>."""
    events, depth = [], 0
    for node in kept:
        while depth >= node.depth:
            events.append(("close", None))
            depth -= 1
        if node.children or node.hidden:
            events.append(("open", node))
            depth = node.depth
        else:
            events.append(("leaf", node))
    events.extend(("close", None) for _level in range(depth))
    return events


def cross_region(customers, region=""):
    """Of `customers`, those whose region differs from their supplier's (both filled in);
    with `region`, those in it or supplied from it. By name."""
    crossing = (
        customers.filter(parent__isnull=False)
        .exclude(region="")
        .exclude(parent__region="")
        .exclude(region=F("parent__region"))
    )
    if region:
        crossing = crossing.filter(Q(region=region) | Q(parent__region=region))
    return crossing.order_by("name", "id")


def hide_unseen_suppliers(customers, user):
    """Mark which listed customers' suppliers `user` may see (one query): of the others the
    page shows only that the region differs."""
    parent_ids = {customer.parent_id for customer in customers}
    seen = set(
        Customer.objects.visible_to(user).filter(pk__in=parent_ids).values_list("pk", flat=True)
    )
    for customer in customers:
        customer.supplier_visible = customer.parent_id in seen
    return customers
