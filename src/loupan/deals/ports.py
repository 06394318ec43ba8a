"""What a deal needs from the money that flows on it, provided by Payments in its
``AppConfig.ready()`` (deals ends at the contract and imports no later app;
docs/architecture.md):

* ``received_of(deal)``: what the buyer has paid toward the price (the ledger);
* ``methods()``: the ways money is received, as ``(value, label)`` pairs;
* ``deposit_received(actor=, deal=, **payment)``: the confirmed deposit becomes the
  deal's first receipt (schedule generated);
* ``contracted(actor=, deal=)``: the schedule adjusted at contract;
* ``exchanged(actor=, old=, new=)``: the new deal takes over the old deal's receipts;
* ``refund_paid(actor=, deal=, amount=, **payment)``: a cancellation's refund paid out;
* ``schedule_of(deal)``: the live payment schedule as the contract prints it, a list of
  ``{"seq", "name", "amount", "due_date"}`` (reads only).

Each runs inside the deal's own transaction and raises the domain error that names the
field (``paid_on``: a closed day; ``method`` …).
"""

from loupan.core.ports import Port

money = Port(
    "deal money",
    "received_of",
    "methods",
    "deposit_received",
    "contracted",
    "exchanged",
    "refund_paid",
    "schedule_of",
)
