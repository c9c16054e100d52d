import pytest

from customers import dashboards, export_columns, filters, panels, pipeline

OWN_APPS = ("customers", "segmentation", "lifecycle", "retention")


def _own(registry, callable_of):
    return {
        key: entry
        for key, entry in registry.items()
        if callable_of(entry).__module__.split(".")[0] in OWN_APPS
    }


@pytest.fixture(autouse=True)
def _retention_and_what_it_builds_on(monkeypatch, settings):
    """Run the frame, pages and exports with the contributions of the core, segmentation
    (whose spend is the customers' value), the lifecycle (who is lost) and retention only:
    other apps' steps, panels and query counts are their own suites' business."""
    monkeypatch.setattr(pipeline, "_steps", _own(pipeline._steps, lambda step: step.func))
    monkeypatch.setattr(
        dashboards, "_registry", _own(dashboards._registry, lambda s: s.load or s.build)
    )
    monkeypatch.setattr(panels, "_registry", _own(panels._registry, lambda panel: panel.load))
    monkeypatch.setattr(
        export_columns, "_registry", _own(export_columns._registry, lambda columns: columns.load)
    )
    monkeypatch.setattr(
        filters, "_extra_filters", _own(filters._extra_filters, lambda make_filter: make_filter)
    )
    monkeypatch.setattr(
        filters,
        "_extra_orderings",
        _own(filters._extra_orderings, lambda ordering: ordering.prepare),
    )
