"""Signals the core sends so that other apps can react without the core naming them."""

from django.dispatch import Signal

# Sent after orders were recorded or imported, with `order_ids` (a list of ints),
# once the transaction that wrote them has committed.
orders_recorded = Signal()
