"""Time the nightly loyalty work (tiers, expiry, catch-up, spend bonuses) beside the RFM step
of the same run, against PostgreSQL; prints both times and their ratio, asserts nothing.

    .venv/bin/python bench/build_dataset.py                  # 1M customers / 10M orders
    .venv/bin/python bench/bench_loyalty.py                  # members + ledger once, then 3 runs

The first call enrols every customer of the data set and writes a ledger of about twenty
entries per member (earnings for the recorded orders, redemptions, adjustments, last night's
expiry), with tiers as last night left them: the state of a nightly run's steady state, in
which a night moves the tiers whose 12-month spend crossed a threshold that day, expires
what was earned on the day that fell out of the expiry window, and earns the orders whose
signal was lost (one order in 2,000 is left unearned). `--members-rebuild` writes them again.
Before the repetitions the catch-up's queue is set as a night finds it: the orders owed and
those recorded since last night (dated on the last day).

Each repetition, in a fresh subprocess and one transaction rolled back at the end (the ledger
is append-only, so a repetition must leave nothing behind): a new run as of the last order
date, the RFM step, then the loyalty step and its publish (where the loyalty writes happen),
each timed whole; the loyalty publish by part.
"""

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from bench.build_dataset import DEFAULT_URL, setup_django, step  # noqa: E402
from bench.figures import add_json_argument, reporting  # noqa: E402

MARKER = "bench_loyalty_dataset"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("-n", "--repeat", type=int, default=3, help="repetitions")
    parser.add_argument("--members-rebuild", action="store_true")
    parser.add_argument(
        "--first-night",
        action="store_true",
        help="no published night before the run: the expiry reads every member's ledger",
    )
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    add_json_argument(parser)
    return parser.parse_args(argv)


def build_members(cursor, as_of):
    """Every customer a member, and a ledger in the state last night's run left it."""
    from loyalty.models import LoyaltySettings
    from loyalty.services import expiry_cutoff, year_before

    rules = LoyaltySettings.current()
    yesterday = as_of - dt.timedelta(days=1)
    cursor.execute(f"DROP TABLE IF EXISTS {MARKER}")
    cursor.execute("TRUNCATE loyalty_pointentry, loyalty_tierchange, loyalty_membership CASCADE")
    cursor.execute("SET session_replication_role = replica")  # no FK or ledger triggers
    cursor.execute("SET synchronous_commit = off")
    cursor.execute("SET work_mem = '256MB'")
    cursor.execute("SET maintenance_work_mem = '1GB'")
    with step("memberships (tiers from the 12-month spend up to yesterday)"):
        cursor.execute(
            """
            INSERT INTO loyalty_membership
                (number, tier, joined_on, status, balance, customer_id, enrolled_by_id)
            SELECT 'M' || lpad(c.id::text, 8, '0'),
                   CASE WHEN s.spend >= %(platinum)s THEN 'platinum'
                        WHEN s.spend >= %(gold)s THEN 'gold'
                        WHEN s.spend >= %(silver)s THEN 'silver' ELSE 'standard' END,
                   DATE '2000-01-01',
                   CASE WHEN c.id %% 100 = 1 THEN 'closed'
                        WHEN c.id %% 50 = 0 THEN 'suspended' ELSE 'active' END,
                   0, c.id, NULL
            FROM customers_customer c
            LEFT JOIN (SELECT customer_id, SUM(amount) AS spend FROM customers_order
                       WHERE status = 'recorded' AND order_date > %(year_from)s
                         AND order_date <= %(yesterday)s
                       GROUP BY customer_id) s ON s.customer_id = c.id
            """,
            {
                "platinum": rules.platinum_from,
                "gold": rules.gold_from,
                "silver": rules.silver_from,
                "year_from": year_before(yesterday),
                "yesterday": yesterday,
            },
        )
    entry = (
        "INSERT INTO loyalty_pointentry "
        "(kind, points, created_at, reason, created_by_id, membership_id, order_id, promotion_id) "
    )
    earned = (
        "FROM customers_order o JOIN loyalty_membership m ON m.customer_id = o.customer_id "
        "WHERE o.status = 'recorded' AND o.order_date <= %(as_of)s AND floor(o.amount) >= 1 "
        "AND m.status = 'active'"
    )
    stamp = "((o.order_date + {days}) + time '10:00')::timestamp AT TIME ZONE 'Asia/Shanghai'"
    last = dt.datetime.combine(yesterday, dt.time(12))
    parts = [
        # Earnings: one per order; one in 2,000 left for the catch-up.
        f"SELECT 'earn' AS kind, floor(o.amount) AS points, {stamp.format(days=0)} AS created_at, "
        f"'' AS reason, m.id AS membership_id, o.id AS order_id {earned} AND o.id %% 2000 <> 0",
        # Redemptions and adjustments.
        "SELECT 'redeem', -floor(floor(o.amount) * 0.6), "
        f"least({stamp.format(days=20)}, %(last)s), '', m.id, NULL "
        f"{earned} AND o.id %% 2 = 0 AND o.id %% 2000 <> 0 AND floor(floor(o.amount) * 0.6) >= 1",
        f"SELECT 'redeem', -1, least({stamp.format(days=40)}, %(last)s), '', m.id, NULL "
        f"{earned} AND o.id %% 3 = 0 AND o.id %% 2000 <> 0 AND floor(o.amount) >= 3",
        f"SELECT 'adjust', 10, least({stamp.format(days=5)}, %(last)s), '补录', m.id, NULL "
        f"{earned} AND o.id %% 5 = 1",
    ]
    with step("earnings, redemptions, adjustments (written in time order, as appended)"):
        cursor.execute(
            entry + "SELECT kind, points, created_at, reason, NULL, membership_id, order_id, NULL "
            f"FROM ({' UNION ALL '.join(parts)}) e ORDER BY created_at",
            {"as_of": as_of, "last": last},
        )
    with step("last night's expiry"):
        # Unspent points earned before the cutoff: the balance less what was earned since
        # (points are spent oldest first).
        cursor.execute(
            entry
            + """
            SELECT 'expire', -(t.total - t.recent), %(night)s, '', NULL, t.membership_id, NULL, NULL
            FROM (SELECT membership_id, SUM(points) AS total,
                         SUM(points) FILTER (WHERE points > 0 AND created_at >= %(cutoff)s)
                             AS recent
                  FROM loyalty_pointentry GROUP BY membership_id) t
            WHERE t.total > COALESCE(t.recent, 0) AND t.recent IS NOT NULL
            """,
            {
                "cutoff": expiry_cutoff(yesterday, rules.expiry_months),
                "night": dt.datetime.combine(yesterday, dt.time(2)),
            },
        )
        cursor.execute(
            entry
            + """
            SELECT 'expire', -t.total, %(night)s, '', NULL, t.membership_id, NULL, NULL
            FROM (SELECT membership_id, SUM(points) AS total,
                         SUM(points) FILTER (WHERE points > 0 AND created_at >= %(cutoff)s)
                             AS recent
                  FROM loyalty_pointentry GROUP BY membership_id) t
            WHERE t.recent IS NULL AND t.total > 0
            """,
            {
                "cutoff": expiry_cutoff(yesterday, rules.expiry_months),
                "night": dt.datetime.combine(yesterday, dt.time(2)),
            },
        )
    with step("balances = ledger sums"):
        cursor.execute(
            "UPDATE loyalty_membership m SET balance = t.total FROM "
            "(SELECT membership_id, SUM(points) AS total FROM loyalty_pointentry "
            "GROUP BY membership_id) t WHERE t.membership_id = m.id"
        )
    cursor.execute("SET session_replication_role = DEFAULT")
    with step("vacuum analyze"):
        for table in ("loyalty_membership", "loyalty_pointentry"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    cursor.execute(f"CREATE TABLE {MARKER} (as_of date)")
    cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [as_of])


def queue_the_night(cursor, as_of):
    """The catch-up's queue as a night finds it: every order still owed points (the one in
    2,000 whose signal was lost) and the orders recorded since last night (those dated on the
    last day; their signal earned them), which the night looks at and drains."""
    import importlib

    migration = importlib.import_module("loyalty.migrations.0010_orders_to_earn")
    cursor.execute("TRUNCATE loyalty_ordertoearn")
    cursor.execute(migration.OWED + " ON CONFLICT DO NOTHING")
    cursor.execute(
        "INSERT INTO loyalty_ordertoearn (order_id) SELECT id FROM customers_order "
        "WHERE order_date >= %s ON CONFLICT DO NOTHING",
        [as_of],
    )


def members_built(cursor, as_of):
    cursor.execute("SELECT to_regclass(%s)", [MARKER])
    if cursor.fetchone()[0] is None:
        return False
    cursor.execute(f"SELECT as_of FROM {MARKER}")
    row = cursor.fetchone()
    return row is not None and row[0] == as_of


def last_night_published(as_of):
    """The published run says, as last night's would, through which earning day points
    expired (build_members wrote that night's expiry); inside the rolled-back transaction."""
    from django.utils import timezone

    from customers.models import PipelineRun
    from loyalty import services

    yesterday = as_of - dt.timedelta(days=1)
    mark = {
        "name": "loyalty",
        "summary": {"expired_through": services.expiry_day(yesterday).isoformat()},
    }
    run = PipelineRun.objects.current()
    if run is None:
        PipelineRun.objects.create(
            as_of=yesterday,
            status=PipelineRun.Status.SUCCEEDED,
            finished_at=timezone.now(),
            published_at=timezone.now(),
            steps=[mark],
        )
    else:
        run.steps = [step for step in run.steps if step.get("name") != "loyalty"] + [mark]
        run.save(update_fields=["steps"])


def worker(as_of, expiry_mark=True):
    """The RFM step, then the loyalty step and its publish, of one fresh run; rolled back.
    Without `expiry_mark` the night finds no published night before it (a first night) and
    reads every member's ledger for the expiry."""
    from django.db import transaction

    from customers import pipeline as frame
    from customers.pipeline import pipeline_start
    from loyalty import pipeline as loyalty_pipeline
    from loyalty import services

    parts = {}
    for name in (
        "tier_changes_apply",
        "points_expire",
        "points_award",
        "spend_bonuses_review",
        "spend_bonuses_award",
        "tier_changes",
        "expiry_due",
        "pending_awards",
    ):
        original = getattr(services, name)

        def timed(*args, _original=original, _name=name, **kwargs):
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                parts[_name] = parts.get(_name, 0) + time.perf_counter() - started

        setattr(services, name, timed)
    steps = {s.name: s for s in frame.registered_steps()}
    seconds = {}

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            if expiry_mark:
                last_night_published(as_of)
            run = pipeline_start(as_of=as_of)
            started = time.perf_counter()
            frame.step_execute(steps["rfm"], run)
            seconds["rfm"] = time.perf_counter() - started
            started = time.perf_counter()
            result = loyalty_pipeline.loyalty_step(run)
            seconds["loyalty step"] = time.perf_counter() - started
            started = time.perf_counter()
            result.publish()
            seconds["loyalty publish"] = time.perf_counter() - started
            summary = result.summary
            raise Rollback
    except Rollback:
        pass
    seconds["loyalty"] = seconds["loyalty step"] + seconds["loyalty publish"]
    return {"seconds": seconds, "parts": parts, "summary": summary}


def spawn(args):
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            "--database-url",
            args.database_url,
            "--as-of",
            args.as_of.isoformat(),
            *(["--first-night"] if args.first_night else []),
        ],
        cwd=BASE_DIR,
        env={**os.environ, "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
    )
    if completed.returncode:
        raise SystemExit(f"worker failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv=None):
    args = parse_args(argv)
    setup_django(args.database_url)
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("The loyalty bench runs on PostgreSQL (bench/build_dataset.py).")
    if args.worker:
        print(json.dumps(worker(args.as_of, expiry_mark=not args.first_night)))
        return
    with reporting(args.json) as figures:
        report(args, figures)


def report(args, figures):
    from django.db import connection
    from django.db.models import Max

    from customers.models import Order

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": args.database_url},
        check=True,
    )
    args.as_of = Order.objects.aggregate(last=Max("order_date"))["last"]
    with connection.cursor() as cursor:
        if args.members_rebuild or not members_built(cursor, args.as_of):
            build_members(cursor, args.as_of)
        with step("the catch-up's queue: what is owed, and the orders recorded since last night"):
            queue_the_night(cursor, args.as_of)
        cursor.execute("SELECT count(*) FROM loyalty_membership")
        members = cursor.fetchone()[0]
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE relname = 'loyalty_pointentry'"
        )
        entries = cursor.fetchone()[0]
    print(
        f"{members:,} members, ~{entries:,} ledger entries, as of {args.as_of}, "
        f"{args.repeat} repetitions (median, min)"
    )
    results = [spawn(args) for _ in range(args.repeat)]
    medians = {}
    for name in ("rfm", "loyalty step", "loyalty publish", "loyalty"):
        times = [result["seconds"][name] for result in results]
        medians[name] = statistics.median(times)
        print(f"{name:18} median {medians[name]:6.2f} s   min {min(times):6.2f} s")
    for part in results[0]["parts"]:
        median = statistics.median(result["parts"].get(part, 0) for result in results)
        print(f"    {part:24} {median:6.2f} s")
    ratios = [r["seconds"]["loyalty"] / r["seconds"]["rfm"] for r in results]
    print(
        f"loyalty / rfm: {medians['loyalty'] / medians['rfm']:.2f} (of medians), "
        f"per run {', '.join(f'{ratio:.2f}' for ratio in ratios)}"
    )
    print(f"summary: {json.dumps(results[0]['summary'])}")
    figures.add("loyalty.rfm_step", medians["rfm"], "s", label="RFM step (loyalty's run)")
    figures.add(
        "loyalty.night",
        medians["loyalty"],
        "s",
        label="loyalty step + publish / RFM step",
        reference="loyalty.rfm_step",
    )


if __name__ == "__main__":
    main()
