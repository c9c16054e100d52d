"""The network page: the tree below a distributor, one level at a time, and its
cross-region signals.

Every customer below the distributor is read once per request (the recursive walk of
customers.network, a few columns a customer) with whether the viewer may see it and its
purchases over the last 12 months (the nightly figure, customers.purchases): enough to
roll up, for every customer on the page, its sub-network's purchases and size, counting
only what the viewer may see. Only one level is named and rendered: the page's
customer's direct customers, `LEVEL_SHOWN` a page, in role and name order; a level
below opens in place (`?under=ID`, fetched when a node is opened), so that a
distributor with tens of thousands of terminals never renders them all. Named customers
show their role, region, credit grade, purchases and the columns other apps add (value
tier, churn risk) through `register_column`. A customer the viewer may not see is never
named: it is counted under its supplier, and listed as an unnamed node only where
customers the viewer may see hang below it.

Cross-region selling (窜货) signal: orders do not record whom a customer bought from
(each customer has one supplier, `Customer.parent`), so "buys from more than one
supplier" cannot be read from the data; the signal is a customer whose region differs
from its supplier's (both regions filled in, both customers visible to the viewer, or
the supplier being the page's customer). The first `CROSS_SHOWN` are listed by name.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from customers.models import Customer, Grade, PipelineRun, no_credit_history_q, visible_q
from customers.network import purchases_since
from customers.snapshots import CrossRegionSupply, PurchaseFigure


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
    channel_role: str = ""
    region: str = ""
    purchases: Decimal = Decimal(0)
    external_ref: str = ""
    credit_grade: str = ""
    no_credit_history: bool = False
    grade_locked: bool = False
    network_purchases: Decimal = Decimal(0)  # its own and the visible ones' below it
    network_count: int = 0  # visible customers below it
    has_below: bool = False  # customers the viewer may see hang below it
    hidden: int = 0  # customers right below it that the viewer may not see (folded away)
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
            and supplier.visible
            and self.region
            and supplier.region
            and self.region != supplier.region
        )


# Direct customers listed per page of a level; customers listed as crossing regions.
LEVEL_SHOWN = 50
CROSS_SHOWN = 50
ROLE_ORDER = {role: position for position, role in enumerate(Customer.ChannelRole.values)}


def _visible_sql(user):
    """SQL for whether `user` may see the customer of the row (customers_customer not
    aliased): the condition of visible_to, compiled by the ORM."""
    rule = visible_q(user)
    if rule is None:
        return "1", []
    query = Customer.objects.filter(rule).query
    where, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
    return f"CASE WHEN {where} THEN 1 ELSE 0 END", list(params)


def _nodes(top_pk, user, run_id):
    """The customer `top_pk` and every customer below it, with whether `user` may see it
    and, if so, its name, role, region and purchases (run `run_id`'s figure): one query.
    The walk carries the columns level by level (the parent index and the row, once per
    customer), then one probe of the figures' (run, customer) index per customer."""
    quote = connection.ops.quote_name
    table = quote(Customer._meta.db_table)
    figures = quote(PurchaseFigure._meta.db_table)
    visible, visible_params = _visible_sql(user)
    columns = f"id, parent_id, {visible} AS visible, name, channel_role, region"
    level = f"SELECT {columns} FROM {table} WHERE parent_id = b.id"
    children = f"SELECT c.* FROM below b CROSS JOIN LATERAL ({level} OFFSET 0) c"
    if connection.vendor != "postgresql":
        children = (
            f"SELECT c.* FROM below b JOIN (SELECT {columns} FROM {table}) c ON c.parent_id = b.id"
        )
    sql = (
        f"WITH RECURSIVE below(id, parent_id, visible, name, channel_role, region) AS ("
        f"SELECT {columns} FROM {table} WHERE id = %s UNION {children}) "
        # The figure as a probe per customer, whatever size the planner guesses the walk.
        f"SELECT b.id, b.parent_id, b.visible, b.name, b.channel_role, b.region, "
        f"(SELECT f.purchases FROM {figures} f WHERE f.run_id = %s AND f.customer_id = b.id) "
        f"FROM below b"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*visible_params, top_pk, *visible_params, run_id])
        rows = cursor.fetchall()
    nodes = {}
    for pk, parent_id, seen, name, role, region, purchases in rows:
        if pk in nodes:  # a customer whose row changed mid-walk: read once
            continue
        if seen:
            amount = Decimal(str(purchases)) if purchases is not None else Decimal(0)
            nodes[pk] = Node(pk, parent_id, True, name, role, region, amount)
        else:
            nodes[pk] = Node(pk, parent_id, False)
    return nodes


def _roll_up(top, nodes):
    """Link the nodes below `top` to their suppliers and add up, from the bottom, each
    one's network purchases and visible customers below; count the folded-away ones.
    Returns the children of each node. A loop in old data is walked once."""
    children = defaultdict(list)
    for node in nodes.values():
        if node.pk != top.pk and node.parent_id in nodes:
            node.supplier = nodes[node.parent_id]
            children[node.parent_id].append(node)
    order, queue, seen = [], [top], {top.pk}
    while queue:
        node = queue.pop()
        order.append(node)
        for child in children[node.pk]:
            if child.pk not in seen:
                seen.add(child.pk)
                queue.append(child)
    for node in reversed(order):
        node.network_purchases = node.purchases if node.visible else Decimal(0)
        for child in children[node.pk]:
            if child.pk not in seen:
                continue
            if child.visible or child.has_below:
                node.has_below = True
                node.network_count += child.visible + child.network_count
                node.network_purchases += child.network_purchases
            else:
                node.hidden += 1
    return children


def _level(children):
    """The children listed on a level, in page order: visible ones and unnamed ones with
    visible customers below, by role and name (the unnamed last)."""
    return sorted(
        (child for child in children if child.visible or child.has_below),
        key=lambda child: (ROLE_ORDER.get(child.channel_role, 9), child.name, child.pk),
    )


def _details(nodes, user):
    """Reference and credit grade of the named nodes: one query."""
    named = {node.pk: node for node in nodes if node.visible}
    rows = (
        Customer.objects.visible_to(user)
        .filter(pk__in=list(named))
        .annotate(no_history=no_credit_history_q())
        .values_list("pk", "external_ref", "credit_grade", "no_history", "grade_locked")
    )
    for pk, ref, grade, no_history, locked in rows:
        node = named[pk]
        node.external_ref, node.credit_grade = ref, grade
        node.no_credit_history, node.grade_locked = no_history, locked


def network_tree(root, user, *, under=None, page=1):
    """The page of `root` (a customer `user` may see): the level right below `under` (the
    id of a customer in root's network, which the caller checked; root itself by
    default), its `page`-th part, each node with its sub-network's roll-up; and, on the
    root's own level, the customers crossing regions in its network. Three queries (the
    run's date, the walk, the named nodes' grades) and one per registered column."""
    run_id, run = PipelineRun.objects.published().values_list("pk", "as_of").first() or (
        None,
        None,
    )
    top_pk = root.pk if under is None else under
    nodes = _nodes(top_pk, user, run_id)
    top_node = nodes.get(top_pk) or Node(top_pk, None, top_pk == root.pk)
    top_node.supplier = None
    levels = _roll_up(top_node, nodes)
    level = _level(levels.get(top_pk, []))
    pages = max(1, -(-len(level) // LEVEL_SHOWN))
    page = min(max(page, 1), pages)
    first = (page - 1) * LEVEL_SHOWN
    shown = level[first : first + LEVEL_SHOWN]
    cross, cross_count = [], 0
    if under is None:
        crossing = sorted(
            (node for node in nodes.values() if node.pk != top_pk and node.crosses_region),
            key=lambda node: (node.name, node.pk),
        )
        cross, cross_count = crossing[:CROSS_SHOWN], len(crossing)
    _details([top_node, *shown, *cross], user)
    named = [node for node in [top_node, *shown] if node.visible]
    ids = [node.pk for node in named]
    for column in columns():
        values = column.load(ids)
        for node in named:
            node.cells.append(values.get(node.pk, ("", "")))
    return {
        "root": top_node,
        "under": under,
        "level": shown,
        "level_count": len(level),
        "page": page,
        "pages": pages,
        "first": first + 1,
        "last": first + len(shown),
        "columns": columns(),
        "hidden_count": sum(not node.visible for node in nodes.values()),
        "cross_region": cross,
        "cross_count": cross_count,
        "since": purchases_since(run) if run else None,
        "as_of": run,
    }


def cross_region(customers, run, region=""):
    """Of `customers`, those whose region differed from their supplier's (both filled in) as
    of `run` (CrossRegionSupply, written nightly; none without a run); with `region`, those
    in it or supplied from it. By name."""
    if run is None:
        return customers.none()
    rows = CrossRegionSupply.objects.filter(run=run)
    if region:
        rows = rows.filter(Q(region=region) | Q(supplier_region=region))
    return customers.filter(pk__in=rows.values("customer_id")).order_by("name", "id")


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
