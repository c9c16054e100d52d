"""The shell shared by the import_* management commands."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.imports.readers import ImportFileError
from customers.imports.services import CHECKING, WRITING, ImportReport, run_import

# Printed errors stop here; the rejects file has all of them.
PRINTED_ERRORS = 50


class ImportCommand(BaseCommand):
    """Import one kind of rows from FILE; subclasses set `kind` and `help`."""

    kind = ""

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help=gettext_lazy("A .csv (UTF-8) or .xlsx file."))
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help=gettext_lazy("Import the valid rows and write the others to the rejects file."),
        )
        parser.add_argument(
            "--rejects",
            type=Path,
            help=gettext_lazy("Where to write rejected rows (default: FILE.rejects.csv)."),
        )

    def handle(self, *args, file, skip_invalid, rejects, **options):
        if not file.is_file():
            raise CommandError(_("There is no file at %(path)s.") % {"path": file})
        rejects = rejects or file.with_name(f"{file.name}.rejects.csv")
        try:
            report = run_import(
                self.kind,
                source=file,
                skip_invalid=skip_invalid,
                rejects=rejects,
                progress=self.print_progress if options["verbosity"] >= 2 else None,
                **self.service_options(options),
            )
        except ImportFileError as error:
            raise CommandError(str(error)) from None
        self.print_errors(report, rejects)
        self.print_warnings(report)
        if not report.imported:
            raise CommandError(
                _(
                    "Nothing was imported: %(count)s rows have errors. Correct them, or run "
                    "again with --skip-invalid to import the other rows."
                )
                % {"count": report.rejected}
            )
        self.stdout.write(self.style.SUCCESS(summary(report)))

    def service_options(self, options):
        """Options of this command passed on to the import service."""
        return {}

    def print_progress(self, stage, rows):
        """With -v 2: how far the import got, after each chunk of the file."""
        if stage == CHECKING:
            self.stderr.write(_("%(rows)s rows checked") % {"rows": rows})
        elif stage == WRITING:
            self.stderr.write(_("%(rows)s rows written") % {"rows": rows})

    def print_errors(self, report: ImportReport, rejects: Path):
        errors = report.errors
        for error in errors[:PRINTED_ERRORS]:
            self.stderr.write(
                _("line %(line)s, %(column)s: %(reason)s")
                % {"line": error.line, "column": error.column, "reason": error.reason}
            )
        if len(errors) > PRINTED_ERRORS:
            self.stderr.write(_("… and %(count)s more.") % {"count": len(errors) - PRINTED_ERRORS})
        if errors:
            self.stderr.write(_("Every rejected row is in %(path)s.") % {"path": rejects})

    def print_warnings(self, report: ImportReport):
        warnings = report.warnings
        for warning in warnings[:PRINTED_ERRORS]:
            self.stdout.write(
                self.style.WARNING(
                    _("line %(line)s, %(column)s: %(reason)s (written all the same)")
                    % {"line": warning.line, "column": warning.column, "reason": warning.reason}
                )
            )
        if len(warnings) > PRINTED_ERRORS:
            self.stdout.write(
                self.style.WARNING(
                    _("… and %(count)s more.") % {"count": len(warnings) - PRINTED_ERRORS}
                )
            )


def summary(report: ImportReport) -> str:
    """The counts of an import in one sentence."""
    counts = {
        "rows": report.rows_read,
        "created": report.created,
        "updated": report.updated,
        "present": report.already_present,
        "rejected": report.rejected,
    }
    if report.kind == "customers":
        text = _(
            "%(rows)s rows read: %(created)s customers created, %(updated)s updated, "
            "%(rejected)s rows rejected."
        )
    else:
        text = _(
            "%(rows)s rows read: %(created)s new, %(present)s already recorded, "
            "%(rejected)s rows rejected."
        )
    text %= counts
    if report.warned:
        text += " " + _("%(count)s rows look like customers already recorded.") % {
            "count": report.warned
        }
    if report.customers_created:
        text += " " + _("%(count)s customers created for unknown references.") % {
            "count": report.customers_created
        }
    return text
