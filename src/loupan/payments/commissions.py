"""Commissions 佣金 (seed 001 篇3 二(六) 结佣函): the daily job that computes them."""


def commissions_due(*, now=None) -> dict:
    """The daily job (``loupan run-due``)."""
    return {"commissions_earned": 0, "commissions_clawed": 0}
