"""Template tags of the customers app: the data of the customer page's intended-units and
problem parts, and the permission checks behind the list links. Each tag calls a selector
in ``customers.intentions``; no rule lives here."""

from django import template

from loupan.customers import intentions

register = template.Library()


@register.simple_tag
def customer_intentions(customer, user):
    """``{% customer_intentions object request.user as intentions %}``: the customer's
    intended units with their 撞车 and whether the viewer may edit them."""
    return intentions.customer_intentions(user=user, customer=customer)


@register.simple_tag
def customer_problem(customer, user):
    """``{% customer_problem object request.user as problem %}``: whether the viewer may
    flag or resolve, and the last resolution."""
    project_id = customer.project_id
    return {
        "can_flag": intentions.can_flag_problem(user, customer),
        "can_resolve": intentions.can_resolve_problem(user, project_id),
        "flagged_by": (
            intentions.flagged_by([customer]).get(customer.pk, "") if customer.problem else ""
        ),
        "last_resolution": None if customer.problem else intentions.last_resolution(customer),
    }


@register.filter
def can_view_problems(user, project):
    """``{% if request.user|can_view_problems:project %}``."""
    return intentions.can_view_problems(user, project)


@register.filter
def can_view_conflicts(user, project):
    return intentions.can_view_conflicts(user, project)


@register.simple_tag
def unit_intention_count(unit):
    """How many live A/B customers want this unit (for the unit's card)."""
    return intentions.unit_intention_count(unit)


@register.simple_tag
def export_consent(project, report):
    """``{% export_consent project "deals.all" as consent %}``: whether the list
    ``report`` leaves only through a request for the manager's consent (the project's
    setting is on and the list is registered with ``customers.exports.register_list``)."""
    from loupan.customers import exports

    return report in {s.code for s in exports.exportable_lists()} and exports.needs_approval(
        project
    )
