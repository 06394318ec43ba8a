"""Money and area arithmetic: always Decimal, rounded explicitly, ROUND_HALF_UP to the fen.

PRODUCT.md: money is Decimal in yuan with two decimals; no float near money.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")
ZERO = Decimal("0.00")


def to_decimal(value) -> Decimal:
    """Parse user input (str, int, Decimal) into a Decimal; floats are refused."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).replace(",", "").replace("，", "").strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def money(value) -> Decimal:
    """Round to the fen, half up (the one rounding helper)."""
    return to_decimal(value).quantize(FEN, rounding=ROUND_HALF_UP)


area = money  # areas are square metres with two decimals, rounded the same way


def round_to(value, step) -> Decimal:
    """Round half up to a multiple of ``step`` yuan (1, 10, 100 …); the result has two decimals."""
    step = to_decimal(step)
    if step <= 0:
        return money(value)
    units = (to_decimal(value) / step).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return money(units * step)
