"""The dashboard and the start page are assembled from sections, like the
customer file from panels.

Apps add sections (RFM grid, churn list, points liability; a rep's at-risk
customers on the start page) by calling `register(...)` or `register_start(...)`
from `AppConfig.ready()`, in one of two ways:

- `build=` and `show=`: figures from the night. `build(scope, run)` computes the
  section's figures (anything JSON can hold) over the customers of a scope
  (customers.summaries.Scope); it runs once per scope when a pipeline run is
  published, for the company, each team and each owner, and the figures are
  stored with the run. `show(figures, user, run)` turns the viewer's figures into
  the template context, with at most a few cheap queries of its own (the rows of a
  top-10 list by id, counts of live data such as follow-up plans). Where the viewer's
  scope has no stored figures (no row yet, a team made after the run) they are
  built on the spot over the customers the viewer may see, so the figures are the
  same either way. `combine(list of figures)`, if given, adds up the figures of
  disjoint scopes (a manager's several teams) without building them again.
  `build_all(scopes, run)`, if given, computes the figures of every scope of the
  run at once (customers.summaries.RunScopes: grouped queries, a window per kind
  of scope) and returns {(scope kind, scope id): figures}, equal to what `build`
  gives scope by scope; a scope missing from its answer is built by `build`. Give
  it for any section whose figures read the run's snapshots: building scope by
  scope reads them once per team and per owner.
- `load=`: the loader takes the viewing user and returns the context, computed
  live over the customers that user may see, with a fixed number of queries;
  for sections whose figures are cheap or must be live.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    template: str
    load: Callable[[Any], dict] | None = None
    order: int = 100
    build: Callable[[Any, Any], Any] | None = None
    show: Callable[[Any, Any, Any], dict] | None = None
    combine: Callable[[list], Any] | None = None
    build_all: Callable[[Any, Any], dict] | None = None

    @property
    def summarised(self):
        return self.build is not None


_registry: dict[str, Section] = {}
_start_registry: dict[str, Section] = {}

# Keys of the stored figures: the two registries may use the same section key.
DASHBOARD, START = "dashboard", "start"


def _section(key, title, template, load, order, build, show, combine, build_all):
    if (build is None) != (show is None) or (build is None) == (load is None):
        raise ValueError(f"Section {key!r} needs either load=, or build= and show=.")
    return Section(
        key=key,
        title=title,
        template=template,
        load=load,
        order=order,
        build=build,
        show=show,
        combine=combine,
        build_all=build_all,
    )


def register(
    *,
    key,
    title,
    template,
    load=None,
    order=100,
    build=None,
    show=None,
    combine=None,
    build_all=None,
):
    """Add a dashboard section; registering the same key again replaces it."""
    _registry[key] = _section(key, title, template, load, order, build, show, combine, build_all)


def register_start(
    *,
    key,
    template,
    load=None,
    order=100,
    placement="grid",
    build=None,
    show=None,
    combine=None,
    build_all=None,
):
    """Add a block to the start page: `placement` "top" for notices above the cards,
    "grid" for a card among them. Its template renders the loader's context as is."""
    _start_registry[key] = _section(
        key, placement, template, load, order, build, show, combine, build_all
    )


def _ordered(registry):
    return sorted(registry.values(), key=lambda section: (section.order, section.key))


def summarised_sections():
    """(storage key, section) of every section whose figures runs compute."""
    return [
        (f"{kind}:{section.key}", section)
        for kind, registry in ((DASHBOARD, _registry), (START, _start_registry))
        for section in _ordered(registry)
        if section.summarised
    ]


def _contexts(kind, registry, user, run):
    from customers import summaries

    sections = _ordered(registry)
    summarised = [(f"{kind}:{s.key}", s) for s in sections if s.summarised]
    figures = summaries.viewer_figures(user, run, summarised) if summarised else {}
    contexts = []
    for section in sections:
        if not section.summarised:
            contexts.append((section, section.load(user)))
            continue
        stored = figures.get(f"{kind}:{section.key}")
        if stored is None:
            stored = summaries.live_figures(section.build, user, run)
        contexts.append((section, section.show(stored, user, run)))
    return contexts


def render_context(user, run):
    """The dashboard's sections with their contexts, in display order; `run` is the
    current run (the figures' run)."""
    return [
        {"section": section, "context": context}
        for section, context in _contexts(DASHBOARD, _registry, user, run)
    ]


def render_start(request, run):
    """The start page's blocks rendered to HTML, by placement, in display order."""
    blocks = {"top": [], "grid": []}
    for section, context in _contexts(START, _start_registry, request.user, run):
        html = render_to_string(section.template, context, request=request)
        blocks[section.title].append(html)
    return blocks
