"""The dashboard and the start page are assembled from sections, like the
customer file from panels.

Apps add sections (RFM grid, churn list, points liability; a rep's at-risk
customers on the start page) by calling `register(...)` or `register_start(...)`
from `AppConfig.ready()`. A section's loader takes the viewing user and returns
its template context, computed over the customers that user may see, with a
fixed number of queries.
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
    load: Callable[[Any], dict]
    order: int = 100


_registry: dict[str, Section] = {}
_start_registry: dict[str, Section] = {}


def register(*, key, title, template, load, order=100):
    """Add a dashboard section; registering the same key again replaces it."""
    _registry[key] = Section(key=key, title=title, template=template, load=load, order=order)


def render_context(user):
    sections = sorted(_registry.values(), key=lambda section: (section.order, section.key))
    return [{"section": section, "context": section.load(user)} for section in sections]


def register_start(*, key, template, load, order=100, placement="grid"):
    """Add a block to the start page: `placement` "top" for notices above the cards,
    "grid" for a card among them. Its template renders the loader's context as is."""
    _start_registry[key] = Section(
        key=key, title=placement, template=template, load=load, order=order
    )


def render_start(request):
    """The start page's blocks rendered to HTML, by placement, in display order."""
    sections = sorted(_start_registry.values(), key=lambda section: (section.order, section.key))
    blocks = {"top": [], "grid": []}
    for section in sections:
        html = render_to_string(section.template, section.load(request.user), request=request)
        blocks[section.title].append(html)
    return blocks
