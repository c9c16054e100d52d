"""Thread pools whose threads use the database: each thread keeps one connection across the
tasks it runs, closed when the pool's block ends. A night's steps and the dashboards'
builds run some twenty tasks two at a time: a connection per task would be twenty
connections opened and closed for two threads' worth of work."""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

from django.db import connection

# How long the closing tasks wait for each other: a pool's threads are idle by then.
CLOSING_TIMEOUT = 60


@contextmanager
def connection_threads(workers):
    """A ThreadPoolExecutor of `workers` threads; when the block ends (its tasks done),
    each thread that ran one closes its database connection."""
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        yield pool
    finally:
        # One closing task per thread: each waits at the barrier until all are taken, so
        # no thread takes two of them.
        barrier = threading.Barrier(workers)

        def close():
            with suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=CLOSING_TIMEOUT)
            connection.close()

        for closing in [pool.submit(close) for _ in range(workers)]:
            closing.result()
        pool.shutdown(wait=True)
