"""Imported by a test worker (`celery worker --include tests.customers.hold_import`): order
imports read files in chunks of ten rows and, once two chunks are written inside the import's
transaction, hold while the file named by IMPORT_TEST_HOLD exists, so that a test can kill
the worker in the middle of the write pass."""

import os
import time
from pathlib import Path

from customers.imports import services
from customers.imports.importers import OrderImport
from customers.imports.readers import read_chunks

HOLD_AT_MOST_SECONDS = 120
CHUNK_ROWS = 10
record_orders = OrderImport.record_bulk
batches = []


def record_then_hold(*, rows, staging):
    if len(batches) == 2:
        path = Path(os.environ["IMPORT_TEST_HOLD"])
        deadline = time.monotonic() + HOLD_AT_MOST_SECONDS
        while path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    batches.append(len(rows))
    return record_orders(rows=rows, staging=staging)


OrderImport.record_bulk = staticmethod(record_then_hold)
services.read_chunks = lambda source: read_chunks(source, chunk_rows=CHUNK_ROWS)
