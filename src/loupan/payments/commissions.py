"""Commissions 佣金 (seed 001 篇3 二(六) 结佣函): see ``commissions_due``."""


def commissions_due(*, now=None) -> dict:
    return {"commissions_earned": 0, "commissions_clawed": 0}
