"""Price lists and adjustments (价格方案、调价): see pricing.py for the arithmetic."""


def pricelist_apply_due(*, now) -> int:
    """Apply approved price lists whose scheduled time has come; returns how many."""
    return 0
