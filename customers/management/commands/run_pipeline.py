"""Run the nightly pipeline now, in this process, and report what each step did."""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from customers.models import PipelineRun
from customers.pipeline import PipelineAlreadyRunning, pipeline_run, registered_steps

# Exit status when the run could not start because another one is running.
EXIT_ALREADY_RUNNING = 2


def parse_as_of(value):
    """The --as-of date: YYYY-MM-DD, not after today (local time)."""
    try:
        as_of = dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {value!r}.") from None
    if as_of > timezone.localdate():
        raise CommandError(f"--as-of {as_of} is in the future; the data only go up to today.")
    return as_of


def run_report(run, *, as_of=None, error=""):
    """The run as one JSON-ready dict; without a run, the reason it did not start. `order`
    is the steps' order as resolved from their dependencies."""
    order = [step.name for step in registered_steps()]
    if run is None:
        return {
            "run_id": None,
            "as_of": as_of.isoformat(),
            "status": "not_started",
            "published": False,
            "kept_aside_behind": None,
            "order": order,
            "started_at": None,
            "finished_at": None,
            "steps": [],
            "error": error,
        }
    return {
        "run_id": run.pk,
        "as_of": run.as_of.isoformat(),
        "status": run.status,
        "published": run.status == PipelineRun.Status.SUCCEEDED,
        "kept_aside_behind": run.kept_aside_behind.isoformat() if run.kept_aside_behind else None,
        "order": order,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "steps": [
            {
                key: step[key]
                for key in ("name", "rows", "seconds", "started", "prepare_seconds", "summary")
                if key in step
            }
            for step in run.steps
        ],
        "error": run.error,
    }


class Command(BaseCommand):
    help = (
        "Run the nightly pipeline now, in this process (no worker needed), and print what "
        "each step produced. A date before the published run's is computed for comparison "
        "and kept aside, changing nothing. Exits non-zero if the run failed or another run "
        "is running."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of",
            metavar="YYYY-MM-DD",
            help="Compute the data as of this date (default: today, local time).",
        )
        parser.add_argument(
            "--json",
            dest="as_json",
            action="store_true",
            help="Print one JSON object (run id, as_of, status, times, steps, error) instead.",
        )

    def handle(self, *args, as_of=None, as_json=False, **options):
        as_of = parse_as_of(as_of) if as_of else timezone.localdate()
        try:
            run = pipeline_run(as_of=as_of)
        except PipelineAlreadyRunning:
            message = already_running_message()
            if as_json:
                self.print_json(run_report(None, as_of=as_of, error=message))
            raise CommandError(message, returncode=EXIT_ALREADY_RUNNING) from None

        if as_json:
            self.print_json(run_report(run))
        else:
            self.print_text(run)
        if run.status == PipelineRun.Status.FAILED:
            raise CommandError(f"Pipeline run #{run.pk} failed; nothing was published.")

    def print_json(self, report):
        self.stdout.write(json.dumps(report, ensure_ascii=False))

    def print_text(self, run):
        self.stdout.write(f"Pipeline run #{run.pk} as of {run.as_of}")
        self.stdout.write("  steps in order: " + " → ".join(s.name for s in registered_steps()))
        for step in run.steps:
            summary = ", ".join(f"{key}={value}" for key, value in step["summary"].items())
            self.stdout.write(
                f"  {step['name']}: {step['rows']} rows in {step['seconds']:.3f} s"
                + (f" ({summary})" if summary else "")
            )
        if run.status == PipelineRun.Status.SUCCEEDED:
            published = timezone.localtime(run.published_at)
            self.stdout.write(self.style.SUCCESS(f"Succeeded; published at {published:%H:%M:%S}."))
        elif run.status == PipelineRun.Status.KEPT_ASIDE:
            self.stdout.write(
                self.style.WARNING(
                    f"Kept aside: {run.as_of} is before the published run's date "
                    f"({run.kept_aside_behind}), so the run was computed for comparison only; "
                    "no balance, grade, grade history or churn episode changed."
                )
            )
        else:
            self.stderr.write(self.style.ERROR(f"Failed:\n{run.error}"))


def already_running_message():
    running = PipelineRun.objects.filter(status=PipelineRun.Status.RUNNING).first()
    if running is None:
        return "Another pipeline run is still running."
    started = timezone.localtime(running.started_at)
    return (
        f"Another pipeline run is still running (#{running.pk}, as of {running.as_of}, "
        f"started {started:%Y-%m-%d %H:%M}); try again when it has finished."
    )
