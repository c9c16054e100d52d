"""The dashboard is assembled from sections, like the customer file from panels.

Apps add sections (RFM grid, churn list, points liability) by calling
`register(...)` from `AppConfig.ready()`. A section's loader takes the viewing
user and returns its template context, computed over the customers that user
may see, with a fixed number of queries.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    template: str
    load: Callable[[Any], dict]
    order: int = 100


_registry: dict[str, Section] = {}


def register(*, key, title, template, load, order=100):
    """Add a dashboard section; registering the same key again replaces it."""
    _registry[key] = Section(key=key, title=title, template=template, load=load, order=order)


def render_context(user):
    sections = sorted(_registry.values(), key=lambda section: (section.order, section.key))
    return [{"section": section, "context": section.load(user)} for section in sections]
