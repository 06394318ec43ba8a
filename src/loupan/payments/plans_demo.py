"""The demo office's plans (called by payments/demo.py)."""


def demo_plans(context: dict) -> None:
    """Nothing yet."""
