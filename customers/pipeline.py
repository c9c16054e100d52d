"""The nightly pipeline's frame.

Apps register steps from `AppConfig.ready()`, each naming the steps whose
results it reads (`after=`); the frame runs them in that order. A step is a
function `(run) -> StepResult`: it reads set-wise, computes, and writes rows
keyed by the run. What must change the live data (balances on the customer,
for instance) goes into the result's `publish` callable. The frame times each
step, records the run, and publishes every step's changes in one short
transaction at the end, so readers see the previous complete run until the new
one is complete. A failed run publishes nothing and keeps its error.

Tasks are acknowledged late, so a run whose worker died is executed again from
its first step: a step must replace, not add to, the rows it wrote for the run.
"""

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from time import perf_counter

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import formats, timezone
from django.utils.translation import gettext

from customers.models import PipelineRun

logger = logging.getLogger(__name__)

# A run still marked running after this long died with its worker; it is closed as failed.
ABANDONED_AFTER = timedelta(hours=6)


@dataclass
class StepResult:
    rows: int
    summary: dict = field(default_factory=dict)
    publish: Callable[[], None] | None = None


@dataclass(frozen=True)
class Step:
    name: str
    func: Callable[[PipelineRun], StepResult]
    after: tuple[str, ...] = ()
    label: str = ""
    describe: tuple = ()


_steps: dict[str, Step] = {}


def register_step(name, func, *, after=(), label="", describe=()):
    """Add a step that runs after the steps named in `after` (those whose results it
    reads). `label` is what pages call it; `describe` how its summary reads there, as
    (key, label, format) fields (see summary_lines)."""
    _steps[name] = Step(
        name=name, func=func, after=tuple(after), label=label, describe=tuple(describe)
    )


def step_label(name):
    """A recorded step's name in words, translated; the bare name for a step since removed."""
    step = _steps.get(name)
    return str(step.label) if step is not None and step.label else name


def resolve_order(steps):
    """The steps of `steps` (name → Step, in registration order) ordered so that each runs
    after the steps it names in `after`; of the steps free to run, the one registered first.
    Raises ImproperlyConfigured for a dependency on an unknown step or a cycle."""
    unknown = [
        f"{step.name} → {dependency}"
        for step in steps.values()
        for dependency in step.after
        if dependency not in steps
    ]
    if unknown:
        raise ImproperlyConfigured(
            f"Pipeline steps depend on steps nobody registered: {', '.join(unknown)}."
        )
    ordered, done, pending = [], set(), list(steps.values())
    while pending:
        free = next((step for step in pending if done.issuperset(step.after)), None)
        if free is None:
            raise ImproperlyConfigured(
                "Pipeline steps depend on each other in a cycle: "
                + ", ".join(f"{step.name} after {'/'.join(step.after)}" for step in pending)
                + "."
            )
        ordered.append(free)
        done.add(free.name)
        pending.remove(free)
    return ordered


def registered_steps():
    return resolve_order(_steps)


def check_steps(app_configs=None, **kwargs):
    """System check: the registered steps' dependencies can be ordered."""
    try:
        registered_steps()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="customers.E001")]
    return []


class PipelineAlreadyRunning(Exception):
    """Another run has not finished yet."""


def pipeline_start(*, as_of, by=None) -> PipelineRun:
    """Record a new run as running; raises PipelineAlreadyRunning if one is."""
    _close_abandoned_runs()
    try:
        with transaction.atomic():
            return PipelineRun.objects.create(as_of=as_of, triggered_by=by)
    except IntegrityError as exc:
        raise PipelineAlreadyRunning from exc


def pipeline_execute(run: PipelineRun) -> PipelineRun:
    """Run every registered step for `run`, then publish; never raises for a step's failure."""
    publishers = []
    # A redelivered task executes the run again: start its record afresh.
    run.steps = []
    try:
        for step in registered_steps():
            started = perf_counter()
            with transaction.atomic():
                result = step.func(run)
            run.steps.append(
                {
                    "name": step.name,
                    "rows": result.rows,
                    "seconds": round(perf_counter() - started, 3),
                    "summary": result.summary,
                }
            )
            if result.publish is not None:
                publishers.append(result.publish)
            PipelineRun.objects.filter(pk=run.pk).update(steps=run.steps)
        with transaction.atomic():
            for publish in publishers:
                publish()
            now = timezone.now()
            run.status = PipelineRun.Status.SUCCEEDED
            run.finished_at = run.published_at = now
            run.save(update_fields=["status", "finished_at", "published_at", "steps"])
    except Exception as exc:
        logger.exception("Pipeline run %s failed", run.pk)
        run.status = PipelineRun.Status.FAILED
        run.finished_at = timezone.now()
        run.error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=-8)}"
        run.save(update_fields=["status", "finished_at", "error", "steps"])
    return run


def pipeline_run(*, as_of, by=None) -> PipelineRun:
    """Start and execute a run in this process."""
    return pipeline_execute(pipeline_start(as_of=as_of, by=by))


def _close_abandoned_runs():
    PipelineRun.objects.filter(
        status=PipelineRun.Status.RUNNING, started_at__lt=timezone.now() - ABANDONED_AFTER
    ).update(
        status=PipelineRun.Status.FAILED,
        finished_at=timezone.now(),
        error=gettext("Abandoned: the worker running it stopped before it finished."),
    )


# The steps' summaries in words, for the run pages.


def describe_summary(name, summary):
    """A recorded step's summary as (label, text) pairs in the active language, as its step
    describes it; key by key for a step since removed."""
    step = _steps.get(name)
    return summary_lines(summary, step.describe if step is not None else ())


def summary_lines(summary, fields):
    """(label, text) for each field (key, label, format) found in `summary`, in the fields'
    order, then any key no field names (from older runs) as recorded. A value the format
    cannot read (recorded by an older version) is shown as recorded."""
    lines, described = [], set()
    for key, label, format_value in fields:
        if key not in summary:
            continue
        described.add(key)
        try:
            lines.append((str(label), format_value(summary[key])))
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError):
            lines.append((str(label), recorded_text(summary[key])))
    lines += [
        (key.replace("_", " "), recorded_text(value))
        for key, value in summary.items()
        if key not in described
    ]
    return lines


def recorded_text(value):
    """A summary value as it was recorded; counts by category ({"A": 3}) read "A 3"."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {recorded_text(count)}" for key, count in value.items())
    return str(value)


def count_text(value):
    return formats.number_format(int(value), force_grouping=True)


def amount_text(value):
    return "¥" + formats.number_format(Decimal(str(value)), 2, force_grouping=True)


def share_text(value):
    return formats.number_format(float(value) * 100, 1) + " %"


def counts_text(counts, labels=()):
    """Counts by category, "A 3, B 1", each category named by `labels` (choices) if given."""
    labels = dict(labels)
    return ", ".join(f"{labels.get(key, key)} {count_text(count)}" for key, count in counts.items())
