"""A deal's price: the list total of its units, then each discount in order (seed 002
二.3(5)), every step rounded half up to the fen by the one money helper. Pure functions:
no database, so hypothesis can check them."""

from dataclasses import dataclass, field
from decimal import Decimal

from loupan.core.money import ZERO, money


@dataclass(frozen=True)
class Step:
    name: str
    kind: str  # "percent" or "amount"
    value: Decimal
    amount: Decimal  # what this step took off
    total_after: Decimal


@dataclass(frozen=True)
class Quote:
    list_total: Decimal
    steps: list[Step] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return self.steps[-1].total_after if self.steps else self.list_total

    @property
    def discount_amount(self) -> Decimal:
        return money(self.list_total - self.total)

    @property
    def discount_pct(self) -> Decimal:
        """The total discount in % of the list total (two decimals, rounded up so that
        an authority check never lets 1.004% pass as 1.00%)."""
        if not self.list_total:
            return ZERO
        pct = self.discount_amount * 100 / self.list_total
        return pct.quantize(Decimal("0.01"), rounding="ROUND_CEILING")


def quote(list_total, discounts) -> Quote:
    """``discounts``: ``(name, kind, value)`` in the order they apply. A percentage
    takes that share of the running total; an amount takes itself. The total never goes
    below zero."""
    running = money(list_total)
    steps = []
    for name, kind, value in discounts:
        value = Decimal(value)
        if kind == "percent":
            cut = money(running * value / 100)
        else:
            cut = money(value)
        cut = min(cut, running)
        running = money(running - cut)
        steps.append(Step(name=name, kind=kind, value=value, amount=cut, total_after=running))
    return Quote(list_total=money(list_total), steps=steps)
