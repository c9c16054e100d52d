"""The customer file is assembled from panels.

Other apps contribute panels (credit grade, lifecycle stage, RFM, churn risk,
membership) by calling `register(...)` from their `AppConfig.ready()`; the core
never imports them. A panel's loader takes the customer and the viewing user
and returns the template context with a fixed number of queries, or None to
leave its panel off that customer's file.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    template: str
    load: Callable[[Any, AbstractBaseUser], dict]
    order: int = 100
    column: str = "main"
    phone_order: int | None = None

    @property
    def stack_order(self):
        """Its place when the two columns stack into one (a phone's width): the side
        column's short facts (grade, stage, risk, contact people) first, then the main
        column's records; `phone_order` places a panel otherwise (long histories last)."""
        if self.phone_order is not None:
            return self.phone_order
        return self.order if self.column == "side" else 100 + self.order


_registry: dict[str, Panel] = {}


def register(*, key, title, template, load, order=100, column="main", phone_order=None):
    """Add a panel to the customer file; registering the same key again replaces it."""
    _registry[key] = Panel(
        key=key,
        title=title,
        template=template,
        load=load,
        order=order,
        column=column,
        phone_order=phone_order,
    )


def registered():
    return sorted(_registry.values(), key=lambda panel: (panel.order, panel.key))


def render_context(customer, user):
    """Each panel with its loaded context, in display order; panels whose loader returns
    None are left off."""
    loaded = ((panel, panel.load(customer, user)) for panel in registered())
    return [
        {"panel": panel, "context": context} for panel, context in loaded if context is not None
    ]
