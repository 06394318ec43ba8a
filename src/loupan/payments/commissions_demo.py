"""The demo office's commissions (called by payments/demo.py)."""


def demo_commissions(context: dict) -> None:
    """Nothing yet."""
