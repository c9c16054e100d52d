"""Redemption throughput on PostgreSQL: 8 concurrent clients redeeming one point at a time,
all on one member (they queue on its row) and each on a member of its own; prints figures,
asserts only that the balance equals the ledger sum afterwards.

    .venv/bin/python bench/bench_redeem.py --database-url \\
        postgres://postgres@127.0.0.1:5432/crm_loyalty   # a migrated scratch database

Each client is a thread with its own connection; every redemption is its own transaction
(the conditional UPDATE of the balance, the INSERT of the ledger row, the commit). The
members, their customers and their entries are deleted afterwards (the ledger's trigger is
bypassed for that cleanup only, with session_replication_role = replica).
"""

import argparse
import os
import sys
import threading
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import DEFAULT_URL, setup_django  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--each", type=int, default=500, help="redemptions per client")
    add_json_argument(parser)
    return parser.parse_args(argv)


def run(members, clients, each):
    from django.db import connection

    from loyalty import services

    barrier = threading.Barrier(clients)

    def client(index):
        membership = members[index % len(members)]
        barrier.wait()
        try:
            for _ in range(each):
                services.points_redeem(membership=membership, points=1, by=None)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def main(argv=None):
    args = parse_args(argv)
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    setup_django(args.database_url)
    from django.db import connection
    from django.db.models import Sum

    from customers.models import Customer, Team
    from loyalty import services
    from loyalty.models import Membership, PointEntry

    Customer.objects.filter(external_ref__startswith="BENCH-REDEEM-").delete()
    Team.objects.filter(name="bench-redeem").delete()
    team = Team.objects.create(name="bench-redeem")
    customers = [
        Customer.objects.create(
            name=f"bench-redeem {i}", external_ref=f"BENCH-REDEEM-{i}", team=team
        )
        for i in range(args.clients)
    ]
    try:
        members = [services.membership_enrol(customer=c, by=None) for c in customers]
        total = args.clients * args.each
        for membership in members:
            services.points_adjust(membership=membership, points=2 * total, by=None, reason="bench")
        for label, chosen in (("one member", members[:1]), ("many members", members)):
            seconds = run(chosen, args.clients, args.each)
            print(
                f"{label}: {total} redemptions by {args.clients} clients in {seconds:.2f} s, "
                f"{total / seconds:,.0f}/s"
            )
            key = "one" if len(chosen) == 1 else "many"
            figures.add(
                f"redeem.{key}",
                total / seconds,
                "redemptions/s",
                label=f"redemptions by {args.clients} clients, {label}"
                + (" / on one member" if key == "many" else ""),
                reference="redeem.one" if key == "many" else None,
            )
        for membership in members:
            membership.refresh_from_db()
            ledger = PointEntry.objects.filter(membership=membership).aggregate(s=Sum("points"))
            assert membership.balance == ledger["s"], (membership.balance, ledger)
        print("balances equal their ledger sums")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            ids = [c.pk for c in customers]
            cursor.execute(
                "DELETE FROM loyalty_pointentry WHERE membership_id IN "
                "(SELECT id FROM loyalty_membership WHERE customer_id = ANY(%s))",
                [ids],
            )
            cursor.execute("DELETE FROM loyalty_membership WHERE customer_id = ANY(%s)", [ids])
            cursor.execute("SET session_replication_role = DEFAULT")
        Membership.objects.filter(customer_id__in=ids).delete()
        Customer.objects.filter(pk__in=ids).delete()
        team.delete()


if __name__ == "__main__":
    main()
