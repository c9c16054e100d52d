"""The benches' machine-readable output, read by bench/run_all.py.

A bench called with `--json` prints its usual report on stderr and, as the last line
of stdout, one JSON list of figures:

    [{"figure": "rfm.step", "label": "RFM step", "measured": 5.8, "unit": "s"},
     {"figure": "lifecycle.step", "label": "lifecycle step", "measured": 6.1, "unit": "s",
      "reference": "lifecycle.rfm_step"}]

`figure` is a stable name (run_all.py's targets are keyed by it); `reference`, when
present, names another figure of the same run that this one is compared with (the
ratio is measured / reference).
"""

import json
import os
import sys
from contextlib import contextmanager, redirect_stdout


def add_json_argument(parser):
    parser.add_argument(
        "--json",
        action="store_true",
        help="report on stderr; print the figures as one JSON list on stdout (bench/run_all.py)",
    )


class Figures(list):
    def add(self, figure, measured, unit, *, label=None, reference=None):
        row = {"figure": figure, "label": label or figure, "measured": measured, "unit": unit}
        if reference:
            row["reference"] = reference
        self.append(row)
        return row


@contextmanager
def reporting(as_json):
    """Collect the figures; with `as_json`, send everything else printed (by this process and
    the processes it starts) to stderr and print the figures on stdout at the end."""
    figures = Figures()
    if not as_json:
        yield figures
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with redirect_stdout(sys.stderr):
            yield figures
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)
    sys.stdout.write(json.dumps(figures, ensure_ascii=False) + "\n")
    sys.stdout.flush()
