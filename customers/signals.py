"""Signals the core sends so that other apps can react without the core naming them."""

from django.dispatch import Signal

# Sent after orders were recorded or imported, with `order_ids` (a list of ints),
# once the transaction that wrote them has committed. Bulk imports send it once
# per chunk of up to 500,000 orders, with `sender=Order`, from
# `transaction.on_commit(..., robust=True)`: receivers must cope with several
# sends for one import and with long lists; a failing receiver is logged and
# does not stop the other sends.
orders_recorded = Signal()
