"""The demo office's mortgages (called by payments/demo.py)."""


def demo_mortgages(context: dict) -> None:
    """Nothing yet."""
