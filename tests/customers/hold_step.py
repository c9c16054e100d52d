"""Imported by a test worker (`celery worker --include tests.customers.hold_step`): a last
pipeline step that holds the run while the file named by PIPELINE_TEST_HOLD exists, so that a
test can kill the worker in the middle of a run."""

import os
import time
from pathlib import Path

from customers.pipeline import StepResult, register_step, registered_steps

HOLD_AT_MOST_SECONDS = 120


def hold(run):
    path = Path(os.environ["PIPELINE_TEST_HOLD"])
    deadline = time.monotonic() + HOLD_AT_MOST_SECONDS
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return StepResult(rows=0)


# After every step the apps registered, so that it is the run's last.
register_step("hold", hold, after=tuple(step.name for step in registered_steps()))
