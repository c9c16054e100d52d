"""Thread pools over the database: a connection per thread, not per task, closed at the end."""

import threading
import time

import pytest
from django.db import connection

from customers.threads import connection_threads

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="threads on their own connections: PostgreSQL"
    ),
    pytest.mark.django_db(transaction=True),
]


def backend():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return threading.get_ident(), cursor.fetchone()[0]


def alive(pids, *, until_gone=False):
    """The backends of `pids` still running; with until_gone, waited for (a closed
    connection's backend leaves pg_stat_activity a moment after the client hangs up)."""
    for _ in range(50 if until_gone else 1):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
            running = {row[0] for row in cursor.fetchall()}
        if not running:
            break
        time.sleep(0.1)
    return running


def test_each_thread_keeps_one_connection_across_its_tasks_and_closes_it_at_the_end():
    with connection_threads(2) as pool:
        seen = [future.result() for future in [pool.submit(backend) for _ in range(12)]]
        assert alive({pid for _thread, pid in seen})

    by_thread = {}
    for thread, pid in seen:
        by_thread.setdefault(thread, set()).add(pid)
    assert 1 <= len(by_thread) <= 2
    assert all(len(pids) == 1 for pids in by_thread.values())
    assert alive({pid for _thread, pid in seen}, until_gone=True) == set()
