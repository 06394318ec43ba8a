"""The demo office's complaints (called by aftersales/demo.py)."""


def demo_complaints(context: dict) -> None:
    """Nothing yet."""
