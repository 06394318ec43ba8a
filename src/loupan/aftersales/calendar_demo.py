"""The demo calendar (called by aftersales/demo.py)."""


def demo_calendar(context: dict) -> None:
    """Nothing yet."""
