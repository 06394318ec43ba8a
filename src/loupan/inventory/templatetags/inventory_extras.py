"""Template filters of the inventory pages."""

from django import template

from loupan.inventory.board import render_cell

register = template.Library()


@register.filter
def board_cell(cell, oob=False):
    """One cell of the board (销控表), as the board and its changes feed draw it."""
    return render_cell(cell, oob=bool(oob))
