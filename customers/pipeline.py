"""The nightly pipeline's frame.

Apps register steps from `AppConfig.ready()`, each naming the steps whose
results it reads (`after=`); the frame runs them in that order. A step is a
function `(run) -> StepResult`: it reads set-wise, computes, and writes rows
keyed by the run. What must change the live data (balances on the customer,
for instance) goes into the result's `publish` callable. The frame times each
step, records the run, and publishes every step's changes in one short
transaction at the end, so readers see the previous complete run until the new
one is complete. A failed run publishes nothing and keeps its error.

A step that writes rows keyed by the run (snapshots, see customers.snapshots)
names their models in `snapshots=` and how many published runs keep theirs in
`keep=`: before the step, in its transaction, the frame deletes those models'
rows of every other run (which also clears what an interrupted execution of
this run wrote) and adds `snapshots_pruned` to the step's summary. (When steps
execute at once, in a transaction of its own that ends before the step starts.)

On PostgreSQL, outside a transaction, settings.PIPELINE_STEP_THREADS steps (two by
default) execute at once, each in a
thread with its own connection and transaction, a step starting once the steps it
names in `after` are done: most of a step is the database's work or numpy's, and the
machine has more than one core. Elsewhere (SQLite, a test's transaction) one at a time,
in the order above.

A run dated before the published run is kept aside: its steps compute and
record their figures for comparison, but it never becomes current and none of
its publish callables runs, so live values never move backwards.

While a run executes, a heartbeat thread refreshes it every few seconds. A
running run whose heartbeat stopped (its worker was killed, or none took it
up) is closed as failed by `close_stale_runs`, which every start and a
periodic task call, so a dead worker never blocks the next run. An execution
first claims its run; a redelivered task finds the run claimed or closed and
does nothing.
"""

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, wait
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from time import perf_counter
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, connection, connections, transaction
from django.db.models import Min, Q
from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_lazy

from customers.models import PipelineRun
from customers.people import display_name
from customers.rollups import current_shared, shared_order_figures, sharing
from customers.threads import connection_threads

logger = logging.getLogger(__name__)

# A run still running after this long is closed as failed, even if its worker answers.
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
    snapshots: tuple = ()
    keep: Callable[[], int] | None = None
    prepare: Callable[[PipelineRun], Any] | None = None


_steps: dict[str, Step] = {}
_publish_hooks: dict[str, Callable[[PipelineRun], None]] = {}


def register_step(
    name, func, *, after=(), label="", describe=(), snapshots=(), keep=None, prepare=None
):
    """Add a step that runs after the steps named in `after` (those whose results it
    reads). `label` is what pages call it; `describe` how its summary reads there, as
    (key, label, format) fields (see summary_lines). `snapshots` are the models (each
    with a `run` key) whose rows the step writes per run; `keep()` says how many
    published runs keep theirs (see snapshots_prune). `prepare(run)`, if given, is the
    part of the step that reads no other step's results (the orders, say): the frame
    may execute it early, beside other steps, and calls `func(run, prepared)` with what
    it returned."""
    if snapshots and keep is None:
        raise ImproperlyConfigured(f"Pipeline step {name} names snapshots but not keep=.")
    _steps[name] = Step(
        name=name,
        func=func,
        after=tuple(after),
        label=label,
        describe=tuple(describe),
        snapshots=tuple(snapshots),
        keep=keep,
        prepare=prepare,
    )


def register_publish_hook(name, func):
    """Call `func(run)` once each run is published, after its transaction: to derive
    figures from the published data (the dashboards' summaries). A hook handles its own
    failures; a run is published whatever its hooks do."""
    _publish_hooks[name] = func


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


def snapshots_prune(models, *, keep):
    """Delete the rows of `models` (each with a `run` key indexed first) of all runs but
    the last `keep` published ones (the current one among them); returns how many runs
    lost rows. Until the next run prunes, a newly published snapshot is one more.

    The runs are looked up in the first model only, which must hold rows for every run
    that has any: a step that writes a small per-run table (a summary) names it first, so
    that the big table's index, full of the rows deleted the night before until vacuum
    clears them, is not walked to learn which runs hold rows."""
    if not models:
        return 0
    ledger = models[0]
    oldest = ledger.objects.aggregate(oldest=Min("run_id"))["oldest"]
    if oldest is None:
        return 0
    kept = PipelineRun.objects.published().values("pk")[:keep]
    candidates = PipelineRun.objects.exclude(pk__in=kept).filter(pk__gte=oldest)
    # One probe of the run's index per candidate, the id a literal: a correlated EXISTS is
    # planned as a scan of the rows when the statistics show few runs (after the step's
    # ANALYZE, one run seems to hold every row), and repeated for every run.
    stale = [
        pk
        for pk in candidates.order_by("pk").values_list("pk", flat=True)
        if ledger.objects.filter(run_id=pk).exists()
    ]
    if stale:
        for model in models:
            model.objects.filter(run_id__in=stale).delete()
    return len(stale)


# What step_execute gets for a step whose prepare has not been executed yet.
UNPREPARED = object()


def step_execute(step, run, prepared=UNPREPARED, pruned=None):
    """One step as the frame runs it, in its own transaction: its old snapshots pruned
    (unless `pruned` says how many runs lost rows already), then the step (its prepare
    first, unless `prepared` is what it returned)."""
    with transaction.atomic():
        if pruned is None and step.snapshots:
            pruned = snapshots_prune(step.snapshots, keep=step.keep())
        if step.prepare is None:
            result = step.func(run)
        else:
            result = step.func(run, step.prepare(run) if prepared is UNPREPARED else prepared)
    if pruned is not None:
        result.summary = {**result.summary, "snapshots_pruned": pruned}
    return result


def step_prepare(step, run):
    """A step's prepare as the frame executes it early: in a transaction of its own, so
    that its reads see one state of the database."""
    with transaction.atomic():
        return step.prepare(run)


def step_prune(step):
    """A step's pruning as the frame executes it early, before the step, in a transaction
    of its own; returns how many runs lost rows."""
    with transaction.atomic():
        return snapshots_prune(step.snapshots, keep=step.keep())


@dataclass(frozen=True)
class _Task:
    """A step, or a part of it executed before it (its prepare, its pruning), as
    steps_execute schedules it."""

    step: Step
    part: str = ""  # "", "prepare" or "prune"

    @property
    def name(self):
        return f"{self.step.name}:{self.part}" if self.part else self.step.name


def steps_execute(run, steps, done, *, expected=None):
    """Execute `steps` (in dependency order) for `run`; `done(step, result, timing)` is
    called in this thread as each one ends, `timing` its seconds, when it started
    (seconds into the execution) and, in threads, the seconds of the parts executed
    before it (`prepare_seconds`, `prune_seconds`). A step's failure is raised once the
    steps executing beside it have ended; no further step starts.

    In threads (see the module's text) a step's pruning and its prepare are tasks of
    their own, free from the start, each in its own transaction; the step waits for
    them. Of the tasks free to start the one with the longest chain of tasks still to
    come starts first, each task counting the seconds it took in `expected` ({task name:
    seconds}, a step's parts as "name:prepare" and "name:prune"; a second if unknown):
    the longest chain sets how long the run takes."""
    began = perf_counter()
    threads = settings.PIPELINE_STEP_THREADS
    if connection.vendor != "postgresql" or connection.in_atomic_block or threads < 2:
        for step in steps:
            started = perf_counter()
            result = step_execute(step, run)
            done(step, result, {"seconds": perf_counter() - started, "started": started - began})
        return
    tasks, needs = _tasks(steps)
    rank = _ranks(tasks, needs, expected or {})
    finished, pending, executing, failure = set(), list(tasks), {}, None
    # What each step's parts returned and took, until the step starts or ends.
    before, timings = {}, {}
    shared = current_shared()
    with connection_threads(threads) as pool:
        while pending or executing:
            free = [task for task in pending if finished.issuperset(needs[task.name])]
            for task in sorted(free, key=lambda task: -rank[task.name])[: threads - len(executing)]:
                pending.remove(task)
                parts = {} if task.part else before.pop(task.name, {})
                future = pool.submit(_task_apart, task, run, shared, parts, began)
                executing[future] = task
            ended, _executing = wait(executing, return_when=FIRST_COMPLETED)
            for future in sorted(ended, key=lambda f: tasks.index(executing[f])):
                task = executing.pop(future)
                try:
                    value, timing = future.result()
                    if task.part:
                        before.setdefault(task.step.name, {})[task.part] = value
                        timings.setdefault(task.step.name, {})[task.part] = timing["seconds"]
                    else:
                        for part, seconds in timings.pop(task.name, {}).items():
                            timing[f"{part}_seconds"] = seconds
                        done(task.step, value, timing)
                    finished.add(task.name)
                except BaseException as exc:
                    # The tasks executing meanwhile end and are recorded; none starts.
                    failure = failure or exc
                    pending.clear()
    if failure is not None:
        raise failure


def _tasks(steps):
    """The tasks of `steps` (a step's pruning and prepare before it) and {task name: the
    names of the tasks it waits for}."""
    names = {step.name for step in steps}
    tasks, needs = [], {}
    for step in steps:
        waits = names & set(step.after)
        parts = (("prune", step.snapshots), ("prepare", step.prepare))
        for part in [part for part, needed in parts if needed]:
            task = _Task(step, part)
            tasks.append(task)
            needs[task.name] = set()
            waits.add(task.name)
        tasks.append(_Task(step))
        needs[step.name] = waits
    return tasks, needs


def _ranks(tasks, needs, expected):
    """{task name: its expected seconds and those of the longest chain of tasks waiting
    for it}, from the last tasks back."""
    rank = {}
    for task in reversed(tasks):
        after = [rank[other] for other, waits in needs.items() if task.name in waits]
        rank[task.name] = expected.get(task.name, 1.0) + max(after, default=0.0)
    return rank


# Set in the threads of steps executed at once (see executing_apart).
_apart = threading.local()


def executing_apart():
    """Whether this thread executes a step beside others, on a connection of its own and
    outside any test's transaction: a step may then write on more connections at once
    (customers.bulk.copy_text's parts)."""
    return getattr(_apart, "active", False)


def _task_apart(task, run, shared, parts, began):
    """A task in a thread of the pool (its connection kept for the pool's next tasks),
    sharing the order read of the execution. `parts`: what the step's prepare and
    pruning returned. Returns (what the task returned, timing)."""
    _apart.active = True
    with connection.cursor() as cursor:
        # Two steps already keep the cores busy: a query's parallel workers would only
        # add their overhead (and a plan that repeats a join in each worker).
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    with sharing(shared):
        started = perf_counter()
        if task.part == "prepare":
            value = step_prepare(task.step, run)
        elif task.part == "prune":
            value = step_prune(task.step)
        else:
            value = step_execute(
                task.step, run, parts.get("prepare", UNPREPARED), parts.get("prune")
            )
        return value, {"seconds": perf_counter() - started, "started": started - began}


def expected_seconds():
    """{task name: seconds} of the published run's steps (and their prepares), for
    steps_execute's order."""
    current = PipelineRun.objects.current()
    expected = {}
    for row in (current.steps or []) if current is not None else []:
        expected[row["name"]] = row.get("seconds") or 0.0
        for part in ("prepare", "prune"):
            if row.get(f"{part}_seconds") is not None:
                expected[f"{row['name']}:{part}"] = row[f"{part}_seconds"]
    return expected


class PipelineAlreadyRunning(Exception):
    """Another run has not finished yet."""


class RunClosed(Exception):
    """The run was closed (as stale, or by hand) while this process executed it."""


def pipeline_start(*, as_of, by=None) -> PipelineRun:
    """Record a new run as running; raises PipelineAlreadyRunning if one is. A run dated
    before the published run is marked from the start as one to keep aside."""
    close_stale_runs()
    current = PipelineRun.objects.current()
    behind = current.as_of if current is not None and as_of < current.as_of else None
    try:
        with transaction.atomic():
            return PipelineRun.objects.create(
                as_of=as_of, triggered_by=by, kept_aside_behind=behind
            )
    except IntegrityError as exc:
        raise PipelineAlreadyRunning from exc


def pipeline_execute(run: PipelineRun) -> PipelineRun:
    """Run every registered step for `run` in dependency order, then publish; never raises
    for a step's failure. A run another execution claimed, or no longer running, is left
    alone."""
    if not _claim(run):
        logger.info("Pipeline run %s is claimed or no longer running; left alone", run.pk)
        run.refresh_from_db()
        return run
    publishers = []
    run.steps = []
    beating = Heartbeat(
        _still_running(run),
        interval=settings.PIPELINE_HEARTBEAT_SECONDS,
        name=f"pipeline run {run.pk}",
    )
    with beating, shared_order_figures():
        try:
            steps = registered_steps()
            order = {step.name: index for index, step in enumerate(steps)}

            def done(step, result, timing):
                run.steps.append(
                    {
                        "name": step.name,
                        "rows": result.rows,
                        **{key: round(value, 3) for key, value in timing.items()},
                        "summary": result.summary,
                    }
                )
                # Shown in the steps' order, whichever ended first.
                run.steps.sort(key=lambda row: order.get(row["name"], len(order)))
                if result.publish is not None:
                    publishers.append((order[step.name], result.publish))
                # A run closed meanwhile (by hand, or as stale) stops here.
                if not _still_running(run).update(steps=run.steps, heartbeat_at=timezone.now()):
                    raise RunClosed

            steps_execute(run, steps, done, expected=expected_seconds())
            _publish(run, [publish for _index, publish in sorted(publishers, key=lambda p: p[0])])
        except RunClosed:
            logger.warning("Pipeline run %s was closed while it ran; it published nothing", run.pk)
            run.refresh_from_db()
        except Exception as exc:
            logger.exception("Pipeline run %s failed", run.pk)
            run.status = PipelineRun.Status.FAILED
            run.finished_at = timezone.now()
            run.error = f"{type(exc).__name__}: {exc}\n\n{traceback.format_exc(limit=-8)}"
            failed = _still_running(run).update(
                status=run.status, finished_at=run.finished_at, error=run.error, steps=run.steps
            )
            if not failed:
                run.refresh_from_db()
    if run.status == PipelineRun.Status.SUCCEEDED:
        for hook in _publish_hooks.values():
            hook(run)
    return run


def pipeline_run(*, as_of, by=None) -> PipelineRun:
    """Start and execute a run in this process."""
    return pipeline_execute(pipeline_start(as_of=as_of, by=by))


def _still_running(run):
    return PipelineRun.objects.filter(pk=run.pk, status=PipelineRun.Status.RUNNING)


def _claim(run):
    """Mark `run` as executed by this process, unless another execution has it."""
    run.worker = f"{socket.gethostname()} pid {os.getpid()}"
    return bool(_still_running(run).filter(worker="").update(worker=run.worker))


def _publish(run, publishers):
    """In one transaction: the steps' changes to live values and the run made current; or,
    for a run dated before the published one, the run kept aside without any change."""
    with transaction.atomic():
        # Locks the run's row against closing, and the current run's against a concurrent
        # publish: a run closed meanwhile, or now back-dated, never publishes.
        if not list(_still_running(run).select_for_update().values_list("pk", flat=True)):
            raise RunClosed
        current = PipelineRun.objects.published().select_for_update().first()
        if current is not None and run.as_of < current.as_of:
            run.kept_aside_behind = current.as_of
        if run.kept_aside_behind is not None:
            run.status = PipelineRun.Status.KEPT_ASIDE
        else:
            for publish in publishers:
                publish()
            run.status = PipelineRun.Status.SUCCEEDED
        # Finished once its changes are written: the run's time includes its publishing.
        run.finished_at = timezone.now()
        if run.status == PipelineRun.Status.SUCCEEDED:
            run.published_at = run.finished_at
        run.save(
            update_fields=["status", "finished_at", "published_at", "steps", "kept_aside_behind"]
        )


class Heartbeat:
    """While a run (or an import job) executes: a thread with its own database connection
    that updates `rows` (the one row, while it is still running) every `interval` seconds
    with a fresh `heartbeat_at` and `values()`, so that a step of several minutes still
    shows its worker alive. It dies with its process, which is how a killed worker shows.
    Its own connection also sees past the worker's open transaction: what it writes is
    visible at once."""

    def __init__(self, rows, *, interval, name, values=dict):
        self.rows = rows
        self.interval = interval
        self.values = values
        self._stopped = False
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stopped = True
        self._wake.set()
        self._thread.join(timeout=self.interval + 10)

    def beat_now(self):
        """Write at once rather than at the next interval (a new stage to show)."""
        self._wake.set()

    def _beat(self):
        failed = False
        try:
            while True:
                # A write that failed (a lock, a dropped connection) is tried again soon.
                self._wake.wait(min(self.interval, 1) if failed else self.interval)
                self._wake.clear()
                if self._stopped:
                    return
                try:
                    self.rows.update(heartbeat_at=timezone.now(), **self.values())
                    failed = False
                except DatabaseError:
                    logger.warning("Heartbeat of %s not written", self._thread.name)
                    failed = True
        finally:
            # This thread's connections only.
            connections.close_all()


def close_stale_runs() -> int:
    """Close as failed every running run whose worker gave no sign of life for
    PIPELINE_STALE_AFTER_SECONDS (or that never got one), or that has run longer than
    ABANDONED_AFTER; returns how many were closed."""
    now = timezone.now()
    silent_since = now - timedelta(seconds=settings.PIPELINE_STALE_AFTER_SECONDS)
    too_old = now - ABANDONED_AFTER
    stale = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=silent_since) | Q(started_at__lt=too_old)
    )
    closed = 0
    for run in stale:
        if run.started_at < too_old:
            closure = PipelineRun.Closure.TOO_LONG
        elif run.worker:
            closure = PipelineRun.Closure.WORKER_SILENT
        else:
            closure = PipelineRun.Closure.NOT_PICKED_UP
        # Unless its heartbeat came back since it was read.
        still_stale = Q(heartbeat_at__lt=silent_since) | Q(started_at__lt=too_old)
        closed += pipeline_close(run, closure=closure, when=still_stale)
    if closed:
        logger.warning("Closed %s stale pipeline run(s)", closed)
    return closed


def pipeline_close(run, *, closure, by=None, detail="", when=None) -> bool:
    """Close a running run as failed for `closure` (a PipelineRun.Closure), with the reason
    in words followed by `detail`; False if it was no longer running (or `when`, a further
    condition on the row, no longer held)."""
    run.status = PipelineRun.Status.FAILED
    run.finished_at = timezone.now()
    run.closed_because = closure
    run.closed_by = by
    run.error = closure_text(run) + (f"\n\n{detail}" if detail else "")
    running = _still_running(run)
    if when is not None:
        running = running.filter(when)
    return bool(
        running.update(
            status=run.status,
            finished_at=run.finished_at,
            closed_because=run.closed_because,
            closed_by=by,
            error=run.error,
        )
    )


def closure_text(run):
    """Why the frame closed `run`, in words of the active language; empty if it did not."""
    Closure = PipelineRun.Closure
    if run.closed_because == Closure.NOT_SENT:
        return gettext(
            "Not started: the task queue could not be reached, so nothing was computed and "
            "nothing changed. Start the run again once the queue is back."
        )
    if run.closed_because == Closure.NOT_PICKED_UP:
        return gettext(
            "Abandoned: no worker took it up after it was queued at %(since)s; it was closed "
            "as failed and changed nothing. Check that a worker is running."
        ) % {"since": _local_time(run.heartbeat_at)}
    if run.closed_because == Closure.WORKER_SILENT:
        return gettext(
            "Abandoned: its worker (%(worker)s) gave no sign of life after %(since)s and "
            "was presumably stopped; the run was closed as failed and published nothing."
        ) % {"worker": run.worker, "since": _local_time(run.heartbeat_at)}
    if run.closed_because == Closure.TOO_LONG:
        return gettext(
            "Abandoned: still running %(hours)s hours after its start; it was closed as "
            "failed and published nothing."
        ) % {"hours": int(ABANDONED_AFTER.total_seconds() // 3600)}
    if run.closed_because == Closure.BY_HAND:
        who = display_name(run.closed_by, empty=gettext("an administrator"))
        return gettext(
            "Closed by %(user)s at %(time)s while still marked running; it published nothing."
        ) % {"user": who, "time": _local_time(run.finished_at)}
    return ""


def _local_time(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


# The steps' summaries in words, for the run pages.


def describe_summary(name, summary):
    """A recorded step's summary as (label, text) pairs in the active language, as its step
    describes it; key by key for a step since removed."""
    step = _steps.get(name)
    # The frame adds the pruning count to the summary of every step that keeps snapshots.
    fields = [*(step.describe if step is not None else ()), PRUNED_FIELD]
    return summary_lines(summary, fields)


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


PRUNED_FIELD = ("snapshots_pruned", gettext_lazy("old snapshots deleted"), count_text)


def amount_text(value):
    return "¥" + formats.number_format(Decimal(str(value)), 2, force_grouping=True)


def share_text(value):
    return formats.number_format(float(value) * 100, 1) + " %"


def counts_text(counts, labels=()):
    """Counts by category, "A 3, B 1", each category named by `labels` (choices) if given."""
    labels = dict(labels)
    return ", ".join(f"{labels.get(key, key)} {count_text(count)}" for key, count in counts.items())
