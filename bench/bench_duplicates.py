"""What the duplicate check of the customer form and a merge cost among many customers;
prints figures, asserts nothing.

    .venv/bin/python bench/bench_duplicates.py --database-url postgres://…/crm_scratch

N customers (default 1,000,000) are written with one INSERT … SELECT, with their name
and phone keys as `Customer.save` would store them (names of 2,000 distinct keys per
region over 30 regions, phones unique), spread over 200 reps in 20 teams, inside a
transaction that is rolled back at the end (the database is migrated first; nothing
stays). Then, REPEAT times each: the form's check (customers.duplicates) of a name and
phone that match, as an admin and as a rep; and the merge page's plan
(customers.merging.merge_plan) and a whole merge of two customers with 2,000 orders
each, rolled back each time. Median and p95 in milliseconds.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import setup_django  # noqa: E402


class RolledBack(Exception):
    """Raised to undo the benchmark's writes once they are timed."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=2_000, help="per merged customer")
    parser.add_argument("--repeat", type=int, default=50)
    return parser.parse_args(argv)


def load(customers, orders):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from customers.models import Customer, Order, Team

    users = get_user_model()
    admin = users.objects.create_superuser("bench_dup_admin", "a@example.com", "x")
    teams = [Team.objects.create(name=f"bench-dup-{n}") for n in range(20)]
    reps = []
    for n in range(200):
        rep = users.objects.create(username=f"bench_dup_rep_{n}")
        teams[n % 20].members.add(rep)
        reps.append(rep)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Customer._meta.db_table} (
                external_ref, name, kind, channel_role, terminal_type, region, address,
                phone, email, source, owner_id, team_id, notes, outstanding_amount,
                overdue_amount, credit_grade, suggested_grade, grade_locked,
                grade_lock_reason, has_credit_history, refuses_to_pay, created_at,
                updated_at, name_key, phone_key)
            SELECT 'BD' || lpad(i::text, 8, '0'), '客户' || (i %% 2000) || '有限公司',
                   'company', 'terminal', '', '城市' || (i %% 30), '', '13' ||
                   lpad(i::text, 9, '0'), '', '', (%(reps)s::bigint[])[1 + i %% 200],
                   (%(teams)s::bigint[])[1 + (i %% 200) %% 20], '', 0, 0, '', '', false, '',
                   false, false, now(), now(), '客户' || (i %% 2000), '13' || lpad(i::text, 9, '0')
            FROM generate_series(1, %(n)s) i
            """,
            {
                "n": customers,
                "reps": [rep.pk for rep in reps],
                "teams": [teams[n % 20].pk for n in range(200)],
            },
        )
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")
    pair = list(Customer.objects.filter(external_ref__in=["BD00000001", "BD00000201"]))
    for customer in pair:
        Order.objects.bulk_create(
            Order(
                customer=customer,
                external_ref=f"BD-{customer.pk}-{n}",
                order_date="2026-01-15",
                amount=100,
                quantity=1,
            )
            for n in range(orders)
        )
    return admin, reps[1], pair


def measure(label, run, repeat):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(f"{label:<52} median {statistics.median(times):8.1f} ms   p95 {p95:8.1f} ms")


def main(argv=None):
    args = parse_args(argv)
    if not args.database_url:
        sys.exit("Give --database-url (or set DATABASE_URL): the database is migrated.")
    setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import transaction

    from customers import merging
    from customers.duplicates import possible_duplicates

    call_command("migrate", verbosity=0)
    try:
        with transaction.atomic():
            started = time.perf_counter()
            admin, rep, (survivor, merged) = load(args.customers, args.orders)
            print(f"{args.customers:,} customers loaded in {time.perf_counter() - started:.1f} s")
            # A name key shared by 500 customers in the region, and one customer's phone.
            check = {"name": "客户1 有限公司", "region": "城市1", "phone": "130 0000 0201"}
            for user, who in ((admin, "admin"), (rep, "rep")):
                possible_duplicates(user, **check)
                measure(
                    f"form's duplicate check ({who})",
                    lambda user=user: possible_duplicates(user, **check),
                    args.repeat,
                )
            measure(
                "merge page's plan",
                lambda: merging.merge_plan(survivor=survivor, merged=merged),
                args.repeat,
            )

            def merge_and_undo():
                try:
                    with transaction.atomic():
                        merging.customer_merge(survivor=survivor, merged=merged, by=admin)
                        raise RolledBack
                except RolledBack:
                    pass

            measure(f"merge with {args.orders:,} orders (rolled back)", merge_and_undo, 10)
            raise RolledBack
    except RolledBack:
        pass


if __name__ == "__main__":
    main()
