"""The demo office's delivery (called by aftersales/demo.py)."""


def demo_delivery(context: dict) -> None:
    """Nothing yet."""
