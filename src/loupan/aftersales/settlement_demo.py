"""The demo office's settlement (called by aftersales/demo.py)."""


def demo_settlement(context: dict) -> None:
    """Nothing yet."""
