"""Build a large PostgreSQL data set for the page benchmarks.

    .venv/bin/python bench/build_dataset.py                      # 1M customers, 10M orders
    .venv/bin/python bench/build_dataset.py --customers 20000 --orders 200000 --invoices 60000

Everything is generated inside PostgreSQL (INSERT ... SELECT over generate_series)
with the secondary indexes dropped and foreign-key triggers off during the load,
then the indexes are rebuilt and the tables analysed. Shapes, not real data:
- 20 teams of 10 reps; `bench_rep` owns one customer in 200 (5,000 of 1M),
  the other reps' books are skewed; `bench_manager` manages bench_rep's team;
  `bench_admin` sees everything. Password of all bench users: bench-pass-123.
- Chinese-like names built from a city, two brand characters and a suffix
  that matches the channel role ("上海锦江酒店"); regions skewed towards the
  big cities.
- Orders per customer follow a capped Pareto law (about 10 % of customers have
  none yet); invoices follow orders, with payments (most in full, recent ones
  often open, so some customers are overdue).
- One heavy customer (`BENCH-HEAVY`) with 20,000 orders, 2,000 invoices,
  500 interactions and 50 complaints, and one light customer (`BENCH-LIGHT`)
  with 10 orders, to show that the file page's query count does not grow.

Idempotent: a run at the size already built does nothing; --rebuild forces it.
"""

import argparse
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crm_bench"
PASSWORD = "bench-pass-123"
TEAMS = 20
REPS_PER_TEAM = 10
HEAVY = {"orders": 20_000, "invoices": 2_000, "interactions": 500, "complaints": 50}
LIGHT = {"orders": 10, "invoices": 3, "interactions": 3, "complaints": 1}

# Every table the load writes; truncated together on a rebuild.
TABLES = [
    "customers_customer",
    "customers_historicalcustomer",
    "customers_customer_tags",
    "customers_contact",
    "customers_order",
    "customers_invoice",
    "customers_payment",
    "customers_interaction",
    "customers_complaint",
    "customers_openissue",
]

CITIES = [
    *["上海", "北京", "广州", "深圳", "杭州", "南京", "苏州", "成都", "重庆", "武汉"],
    *["西安", "天津", "长沙", "郑州", "青岛", "厦门", "宁波", "合肥", "福州", "昆明"],
    *["沈阳", "大连", "济南", "哈尔滨", "南昌", "贵阳", "南宁", "太原", "石家庄", "无锡"],
]
BRAND_CHARS = [
    *"华联锦江新兴宏达盛泰恒通美佳福隆鑫源广利永安康和顺",
    *"丰金银海天明光东方红旗荣昌瑞祥百家乐惠万客好友德信",
]
SURNAMES = [*"王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"]
TAGS = [
    *["重点", "VIP", "新开发", "待回访", "价格敏感"],
    *["季节性", "连锁", "政府采购", "出口", "老客户"],
]
CATEGORIES = ["饮料", "酒类", "粮油", "调味品", "休闲食品", "日化", "乳制品", "冷冻食品"]
# Company name suffixes that match the channel role or terminal type.
SUFFIXES = {
    "general_distributor": ["贸易有限公司", "实业有限公司"],
    "wholesaler": ["批发部", "商贸有限公司", "食品批发行"],
    "hotel": ["酒店", "大酒店", "宾馆"],
    "supermarket": ["超市", "连锁超市", "购物广场"],
    "restaurant": ["餐厅", "酒家", "餐饮有限公司"],
    "convenience_store": ["便利店", "便民店"],
    "other": ["百货商店", "食品店", "商行"],
}


def suffix_sql():
    """A CASE picking a suffix by role; its arrays are the `sfx_*` parameters."""
    roles = ("general_distributor", "wholesaler")
    whens = [
        f"WHEN {'channel_role' if key in roles else 'terminal_type'} = '{key}' THEN"
        f" (%(sfx_{key})s::text[])[1 + (r4 * {len(values)})::int %% {len(values)}]"
        for key, values in SUFFIXES.items()
        if key != "other"
    ]
    other = len(SUFFIXES["other"])
    return (
        "CASE WHEN kind = 'individual' THEN '' "
        + " ".join(whens)
        + f" ELSE (%(sfx_other)s::text[])[1 + (r4 * {other})::int %% {other}] END"
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL") or DEFAULT_URL)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--invoices", type=int, default=3_000_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--complaints", type=int, default=50_000)
    parser.add_argument("--rebuild", action="store_true", help="build even if already built")
    args = parser.parse_args(argv)
    if args.customers < 1000:
        parser.error("--customers must be at least 1000 (the bench rep owns one in 200)")
    return args


def create_database(url):
    """Create the database named in `url` if it does not exist yet."""
    import dj_database_url
    import psycopg2

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"The bench needs PostgreSQL, not {config['ENGINE']}.")
    admin = psycopg2.connect(
        dbname="postgres",
        user=config["USER"] or None,
        password=config["PASSWORD"] or None,
        host=config["HOST"] or None,
        port=config["PORT"] or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            print(f"creating database {config['NAME']}")
            cursor.execute(f'CREATE DATABASE "{config["NAME"]}"')
    admin.close()


def migrate(url):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
    )


def setup_django(url):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")
    if str(BASE_DIR) not in sys.path:
        sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


@contextmanager
def step(label):
    started = time.perf_counter()
    print(f"  {label} ...", end="", flush=True)
    yield
    print(f" {time.perf_counter() - started:.1f} s", flush=True)


def wanted_sizes(args):
    return {
        "customers": args.customers,
        "orders": args.orders,
        "invoices": args.invoices,
        "interactions": args.interactions,
        "complaints": args.complaints,
    }


def built_sizes(cursor):
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_dataset (key text PRIMARY KEY, value bigint NOT NULL)"
    )
    cursor.execute("SELECT key, value FROM bench_dataset")
    return dict(cursor.fetchall())


def restore_dropped_indexes(cursor):
    """Recreate indexes recorded as dropped by a load that did not finish."""
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS bench_dropped_index "
        "(name text PRIMARY KEY, tablename text NOT NULL, kind text NOT NULL, definition text)"
    )
    cursor.execute("SELECT name, tablename, kind, definition FROM bench_dropped_index ORDER BY 3")
    for name, table, kind, definition in cursor.fetchall():
        if kind == "constraint":
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        else:
            cursor.execute(definition)
        cursor.execute("DELETE FROM bench_dropped_index WHERE name = %s", [name])


@contextmanager
def model_defaults(cursor):
    """During the load, NOT NULL columns that the INSERTs below do not name (fields
    added to the models later) take their model default, as rows saved by Django would."""
    from django.apps import apps
    from django.db import connection

    cursor.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_name = ANY(%s) AND is_nullable = 'NO' AND column_default IS NULL",
        [TABLES],
    )
    bare = set(cursor.fetchall())
    given = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            column = (model._meta.db_table, field.column)
            if column not in bare or field.primary_key:
                continue
            default = field.get_default()
            if default is None:
                continue
            value = field.get_db_prep_save(default, connection)
            cursor.execute(
                f'ALTER TABLE {column[0]} ALTER COLUMN "{column[1]}" SET DEFAULT %s', [value]
            )
            given.append(column)
    try:
        yield
    finally:
        for table, name in given:
            cursor.execute(f'ALTER TABLE {table} ALTER COLUMN "{name}" DROP DEFAULT')


def drop_secondary_indexes(cursor):
    """Drop every index but the primary keys, recording how to recreate them."""
    for table in TABLES:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'u'",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(
                "INSERT INTO bench_dropped_index VALUES (%s, %s, 'constraint', %s)",
                [name, table, definition],
            )
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
            "                AND k.conrelid = i.indrelid)",
            [table],
        )
        for name, definition in cursor.fetchall():
            cursor.execute(
                "INSERT INTO bench_dropped_index VALUES (%s, %s, 'index', %s)",
                [name, table, definition],
            )
            cursor.execute(f'DROP INDEX "{name}"')


def bench_users():
    """Teams, reps and managers; returns (rep ids in team order, team ids)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from customers.models import Team

    user_model = get_user_model()
    password = make_password(PASSWORD)

    def user(username, **extra):
        obj, _created = user_model.objects.get_or_create(
            username=username, defaults={"password": password, **extra}
        )
        return obj

    user("bench_admin", is_superuser=True, is_staff=True, first_name="管理员")
    rep_ids, team_ids = [], []
    for t in range(1, TEAMS + 1):
        team, _created = Team.objects.get_or_create(name=f"{CITIES[t - 1]}销售{t:02d}组")
        team_ids.append(team.pk)
        manager = user("bench_manager" if t == 1 else f"bench_manager_{t:02d}")
        team.managers.add(manager)
        for r in range(1, REPS_PER_TEAM + 1):
            n = (t - 1) * REPS_PER_TEAM + r
            rep = user("bench_rep" if n == 1 else f"bench_rep_{n:03d}")
            team.members.add(rep)
            rep_ids.append(rep.pk)
    user_model.objects.filter(username__startswith="bench_").update(password=password)
    return rep_ids, team_ids


def load_customers(cursor, n, rep_ids, team_ids):
    reps = len(rep_ids)
    cursor.execute(
        f"""
        INSERT INTO customers_customer (
            id, external_ref, name, kind, channel_role, terminal_type, parent_id, region,
            address, phone, email, source, owner_id, team_id, notes,
            outstanding_amount, overdue_amount, created_at, updated_at)
        SELECT i, 'BC' || lpad(i::text, 8, '0'),
               CASE WHEN kind = 'individual'
                    THEN (%(surnames)s::text[])[1 + (r2 * 20)::int %% 20]
                         || (%(brand)s::text[])[1 + (r3 * 50)::int %% 50]
                    ELSE city || (%(brand)s::text[])[1 + (r2 * 50)::int %% 50]
                         || (%(brand)s::text[])[1 + (r3 * 50)::int %% 50]
               END || {suffix_sql()},
               kind, channel_role, terminal_type, NULL, city,
               city || '市' || (1 + (r3 * 30)::int) || '路' || (1 + (r4 * 500)::int) || '号',
               '13' || lpad(((i::bigint * 7919) %% 1000000000)::text, 9, '0'),
               '', (ARRAY['referral','exhibition','advertising','website','cold_call',
                          'partner','other'])[1 + (r4 * 7)::int %% 7],
               (%(reps)s::bigint[])[owner_no],
               (%(teams)s::bigint[])[1 + (owner_no - 1) / {REPS_PER_TEAM}],
               '', 0, 0, now() - make_interval(days => (r1 * 1500)::int), now()
        FROM (
            SELECT i, r1, r2, r3, r4,
                   (%(cities)s::text[])[1 + floor(30 * power(r1, 1.8))::int] AS city,
                   CASE WHEN r5 < 0.2 THEN 'individual' ELSE 'company' END AS kind,
                   CASE WHEN r5 < 0.2 THEN 'consumer'
                        WHEN r6 < 0.01 THEN 'general_distributor'
                        WHEN r6 < 0.12 THEN 'wholesaler'
                        ELSE 'terminal' END AS channel_role,
                   CASE WHEN r5 < 0.2 OR r6 < 0.12 THEN ''
                        ELSE (ARRAY['hotel','supermarket','restaurant','convenience_store',
                                    'other'])[1 + (r7 * 5)::int %% 5] END AS terminal_type,
                   -- bench_rep owns one customer in 200; the others' books are skewed.
                   CASE WHEN i %% {reps} = 0 THEN 1
                        ELSE 2 + floor({reps - 1} * power(r7, 1.2))::int END AS owner_no
            FROM (
                SELECT i, random() r1, random() r2, random() r3, random() r4,
                       random() r5, random() r6, random() r7
                FROM generate_series(1, %(n)s) i
            ) raw
        ) s
        """,
        {
            "n": n,
            "cities": CITIES,
            "brand": BRAND_CHARS,
            "surnames": SURNAMES,
            "reps": rep_ids,
            "teams": team_ids,
            **{f"sfx_{key}": values for key, values in SUFFIXES.items()},
        },
    )
    cursor.execute("SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [n])
    # The heavy and light customers belong to bench_rep (ids divisible by 200).
    cursor.execute(
        "UPDATE customers_customer SET external_ref = 'BENCH-HEAVY', name = '重庆重型机械集团', "
        "kind = 'company', channel_role = 'general_distributor', terminal_type = '' WHERE id = %s",
        [reps],
    )
    cursor.execute(
        "UPDATE customers_customer SET external_ref = 'BENCH-LIGHT', name = '苏州小桥便利店', "
        "kind = 'company', channel_role = 'terminal', terminal_type = 'convenience_store' "
        "WHERE id = %s",
        [2 * reps],
    )
    return reps, 2 * reps


def load_tags(cursor):
    from customers.models import Tag

    tag_ids = [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]
    cursor.execute(
        """
        INSERT INTO customers_customer_tags (customer_id, tag_id)
        SELECT id, (%s::bigint[])[1 + floor(10 * power(r, 2))::int]
        FROM (SELECT id, random() AS r, random() AS pick FROM customers_customer) s
        WHERE pick < 0.3
        """,
        [tag_ids],
    )


def order_counts(cursor, args, heavy_id, light_id):
    """A temp table of orders and invoices per customer, Pareto-skewed, capped."""
    special = HEAVY["orders"] + LIGHT["orders"]
    cursor.execute(
        """
        CREATE TEMP TABLE bench_counts AS
        SELECT id AS customer_id, owner_id,
               CASE WHEN r0 < 0.1 THEN 0 ELSE least(1000, power(1 - r, -1 / 1.16)) END AS w
        FROM (SELECT id, owner_id, random() AS r0, random() AS r FROM customers_customer) s
        WHERE id NOT IN (%(heavy)s, %(light)s)
        """,
        {"heavy": heavy_id, "light": light_id},
    )
    cursor.execute(
        """
        ALTER TABLE bench_counts ADD COLUMN orders int, ADD COLUMN invoices int;
        UPDATE bench_counts
        SET orders = floor(w * %(target)s / (SELECT sum(w) FROM bench_counts) + random());
        """,
        {"target": max(args.orders - special, 0)},
    )
    cursor.execute("SELECT sum(orders) FROM bench_counts")
    orders = cursor.fetchone()[0] or 0
    invoice_target = max(args.invoices - HEAVY["invoices"] - LIGHT["invoices"], 0)
    cursor.execute(
        """
        UPDATE bench_counts SET invoices = floor(orders * %(ratio)s + random())
        WHERE orders > 0;
        UPDATE bench_counts SET invoices = 0 WHERE orders = 0;
        INSERT INTO bench_counts
        SELECT id, owner_id, 0,
               CASE id WHEN %(heavy)s THEN %(heavy_orders)s ELSE %(light_orders)s END,
               CASE id WHEN %(heavy)s THEN %(heavy_invoices)s ELSE %(light_invoices)s END
        FROM customers_customer WHERE id IN (%(heavy)s, %(light)s);
        """,
        {
            "ratio": invoice_target / orders if orders else 0,
            "heavy": heavy_id,
            "light": light_id,
            "heavy_orders": HEAVY["orders"],
            "light_orders": LIGHT["orders"],
            "heavy_invoices": HEAVY["invoices"],
            "light_invoices": LIGHT["invoices"],
        },
    )


def load_orders(cursor):
    cursor.execute(
        """
        INSERT INTO customers_order
            (customer_id, external_ref, order_date, amount, quantity, category)
        SELECT c.customer_id, 'BO' || c.customer_id || '-' || g,
               current_date - (random() * 1095)::int,
               round((20 + random() * random() * 20000)::numeric, 2),
               1 + (random() * 99)::int,
               (%s::text[])[1 + (random() * 8)::int %% 8]
        FROM bench_counts c, generate_series(1, c.orders) g
        """,
        [CATEGORIES],
    )


def load_invoices(cursor):
    cursor.execute(
        """
        INSERT INTO customers_invoice (customer_id, external_ref, issue_date, due_date, amount)
        SELECT customer_id, external_ref, issue_date,
               issue_date + (ARRAY[15, 30, 30, 60, 90])[1 + (random() * 5)::int %% 5], amount
        FROM (
            SELECT c.customer_id, 'BI' || c.customer_id || '-' || g AS external_ref,
                   current_date - (random() * 1095)::int AS issue_date,
                   round((100 + random() * random() * 50000)::numeric, 2) AS amount
            FROM bench_counts c, generate_series(1, c.invoices) g
        ) s
        """,
        [],
    )


def load_payments(cursor):
    # Most invoices are paid in full; recent ones are often open or part-paid.
    cursor.execute(
        """
        INSERT INTO customers_payment (invoice_id, customer_id, external_ref, paid_date, amount)
        SELECT id, customer_id, 'BP' || id,
               least(current_date,
                     issue_date + (random() * (due_date - issue_date + 20))::int),
               CASE WHEN r < partial THEN round(amount / 2, 2) ELSE amount END
        FROM (
            SELECT i.*, random() AS r,
                   CASE WHEN issue_date > current_date - 120 THEN 0.35 ELSE 0.02 END AS unpaid,
                   CASE WHEN issue_date > current_date - 120 THEN 0.50 ELSE 0.05 END AS partial
            FROM customers_invoice i
        ) s
        WHERE r >= unpaid
        """
    )


def load_balances(cursor):
    """Outstanding and overdue per customer, as the receivables step would store them."""
    cursor.execute(
        """
        UPDATE customers_customer c
        SET outstanding_amount = b.outstanding, overdue_amount = b.overdue
        FROM (
            SELECT i.customer_id,
                   sum(i.amount - coalesce(p.paid, 0)) AS outstanding,
                   sum(CASE WHEN i.due_date < current_date
                            THEN i.amount - coalesce(p.paid, 0) ELSE 0 END) AS overdue
            FROM customers_invoice i
            LEFT JOIN (SELECT invoice_id, sum(amount) AS paid
                       FROM customers_payment GROUP BY invoice_id) p ON p.invoice_id = i.id
            WHERE i.amount > coalesce(p.paid, 0)
            GROUP BY i.customer_id
        ) b
        WHERE c.id = b.customer_id
        """
    )


def random_customers_sql(count_param):
    """Rows (customer id, owner id) for `count_param` random customers plus the specials."""
    return f"""
        SELECT c.id AS customer_id, c.owner_id
        FROM (SELECT 1 + floor(random() * %(customers)s)::int AS id
              FROM generate_series(1, %({count_param})s)) pick
        JOIN customers_customer c ON c.id = pick.id
        WHERE c.id NOT IN (%(heavy)s, %(light)s)
        UNION ALL
        SELECT %(heavy)s, (SELECT owner_id FROM customers_customer WHERE id = %(heavy)s)
        FROM generate_series(1, %(heavy_{count_param})s)
        UNION ALL
        SELECT %(light)s, (SELECT owner_id FROM customers_customer WHERE id = %(light)s)
        FROM generate_series(1, %(light_{count_param})s)
    """


def load_contact_log(cursor, args, heavy_id, light_id):
    params = {
        "customers": args.customers,
        "interactions": args.interactions,
        "complaints": args.complaints,
        "heavy": heavy_id,
        "light": light_id,
        **{f"heavy_{key}": value for key, value in HEAVY.items()},
        **{f"light_{key}": value for key, value in LIGHT.items()},
    }
    cursor.execute(
        f"""
        INSERT INTO customers_interaction
            (customer_id, channel, staff_id, occurred_at, summary, outcome, next_follow_up)
        SELECT customer_id,
               (ARRAY['phone','phone','visit','wechat','email','sms','fax','web'])
                   [1 + (random() * 8)::int %% 8],
               owner_id, now() - make_interval(mins => (random() * 1051200)::int),
               (ARRAY['电话回访，客户对上批货满意', '上门拜访，洽谈下季度订货',
                      '微信沟通促销活动', '催收到期货款', '介绍新品，客户有兴趣'])
                   [1 + (random() * 5)::int %% 5],
               (ARRAY['', '已下单', '再联系', '答应月底付款'])[1 + (random() * 4)::int %% 4],
               CASE WHEN random() < 0.3 THEN current_date + (random() * 70 - 10)::int END
        FROM ({random_customers_sql("interactions")}) s
        """,
        params,
    )
    cursor.execute(
        f"""
        INSERT INTO customers_complaint
            (customer_id, subject, description, status, received_at, received_by_id,
             resolution, resolved_at, resolved_by_id, satisfaction)
        SELECT customer_id,
               (ARRAY['送货延迟', '包装破损', '价格争议', '发票错误', '服务态度'])
                   [1 + (random() * 5)::int %% 5],
               '', status, received_at, owner_id,
               CASE WHEN status = 'resolved' THEN '已协商解决' ELSE '' END,
               CASE WHEN status = 'resolved' THEN received_at + interval '3 days' END,
               CASE WHEN status = 'resolved' THEN owner_id END,
               CASE WHEN status = 'resolved' THEN 1 + (random() * 4)::int END
        FROM (
            SELECT customer_id, owner_id,
                   now() - make_interval(mins => (random() * 1051200)::int) AS received_at,
                   CASE WHEN r < 0.7 THEN 'resolved' WHEN r < 0.85 THEN 'open'
                        ELSE 'in_progress' END AS status
            FROM (SELECT *, random() AS r FROM ({random_customers_sql("complaints")}) x) y
        ) s
        """,
        params,
    )
    cursor.execute(
        """
        INSERT INTO customers_openissue
            (customer_id, title, description, status, opened_by_id, opened_at, resolution)
        SELECT c.id, '对账单金额不一致', '', CASE WHEN random() < 0.6 THEN 'open' ELSE 'closed' END,
               c.owner_id, now() - make_interval(days => (random() * 700)::int), ''
        FROM customers_customer c WHERE c.id %% 50 = 7 OR c.id IN (%(heavy)s, %(light)s)
        """,
        {"heavy": heavy_id, "light": light_id},
    )
    cursor.execute(
        """
        INSERT INTO customers_contact (customer_id, name, title, phone, email, wechat, is_primary)
        SELECT id, (%s::text[])[1 + (random() * 20)::int %% 20] || '经理', '采购',
               '139' || lpad(((id::bigint * 104729) %% 100000000)::text, 8, '0'), '', '', true
        FROM customers_customer WHERE kind = 'company'
        """,
        [SURNAMES],
    )


def load_history(cursor):
    """Each file's "created" record, as customers made through the site have."""
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        ["customers_customer"],
    )
    live = {name for (name,) in cursor.fetchall()}
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s",
        ["customers_historicalcustomer"],
    )
    shared = sorted(live & {name for (name,) in cursor.fetchall()})
    columns = ", ".join(f'"{name}"' for name in shared)
    cursor.execute(
        f"INSERT INTO customers_historicalcustomer "
        f"({columns}, history_date, history_type, history_change_reason, history_user_id) "
        f"SELECT {columns}, created_at, '+', NULL, NULL FROM customers_customer"
    )


def count_rows(cursor):
    counts = {}
    for table in TABLES:
        cursor.execute(f"SELECT count(*) FROM {table}")
        counts[table] = cursor.fetchone()[0]
    return counts


def build(args):
    from django.db import connection

    rep_ids, team_ids = bench_users()
    with connection.cursor() as cursor:
        restore_dropped_indexes(cursor)
        cursor.execute("DELETE FROM bench_dataset")
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        # Foreign keys hold by construction; replica mode skips their triggers.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET work_mem = '256MB'")
        with model_defaults(cursor):
            with step("drop secondary indexes"):
                drop_secondary_indexes(cursor)
            with step(f"customers ({args.customers:,})"):
                heavy_id, light_id = load_customers(cursor, args.customers, rep_ids, team_ids)
            with step("tags"):
                load_tags(cursor)
            with step("orders and invoices per customer"):
                order_counts(cursor, args, heavy_id, light_id)
            with step(f"orders (~{args.orders:,})"):
                load_orders(cursor)
            with step(f"invoices (~{args.invoices:,})"):
                load_invoices(cursor)
            with step("payments"):
                load_payments(cursor)
            with step("balances (outstanding / overdue)"):
                load_balances(cursor)
            with step("interactions, complaints, issues, contacts"):
                load_contact_log(cursor, args, heavy_id, light_id)
            with step("last contact per customer"):
                from customers.contact_log import refresh_all_last_contacts

                refresh_all_last_contacts(cursor)
            with step("history (one creation record per customer)"):
                load_history(cursor)
            with step("rebuild indexes"):
                restore_dropped_indexes(cursor)
        cursor.execute("SET session_replication_role = DEFAULT")
        with step("vacuum analyze"):
            for table in TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute("ANALYZE")  # users, teams and the rest, for the planner's estimates
        counts = count_rows(cursor)
        for key, value in wanted_sizes(args).items():
            cursor.execute("INSERT INTO bench_dataset VALUES (%s, %s)", [key, value])
    return counts, heavy_id, light_id


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    create_database(args.database_url)
    with step("migrate"):
        migrate(args.database_url)
    setup_django(args.database_url)
    from django.db import connection

    with connection.cursor() as cursor:
        done = built_sizes(cursor) == wanted_sizes(args)
    if done and not args.rebuild:
        print(f"already built at {wanted_sizes(args)}; --rebuild to build again")
        return
    print(f"building {wanted_sizes(args)}")
    counts, heavy_id, light_id = build(args)
    for table, count in counts.items():
        print(f"  {table:28} {count:>12,}")
    print(f"heavy customer id {heavy_id}, light customer id {light_id}")
    print(f"load took {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
