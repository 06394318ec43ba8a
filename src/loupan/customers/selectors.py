"""Customer reads, restricted to what the viewer may see, with personal data masked."""

import re

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce

from loupan.accounts import access
from loupan.core.identity import display_phone
from loupan.core.masking import mask_id_number, mask_phone

from .models import Customer, FollowUp


def customer_list(*, user, project):
    # The follow-up count is a correlated subquery, not a JOIN + GROUP BY: PostgreSQL
    # computes it only for the page's rows after ORDER BY … LIMIT, so a search matching
    # 30,000 of a million customers still costs one page (bench/customers.py).
    follow_ups = (
        FollowUp.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Customer.objects.restrict(user, "view")
        .filter(project=project, anonymized_at__isnull=True)
        .select_related("owner", "channel")
        .annotate(follow_up_count=Coalesce(Subquery(follow_ups), 0))
    )


def search(qs, text: str):
    """Name, pinyin initials (张三 from "zs"), or the last four digits of the phone."""
    text = (text or "").strip()
    if not text:
        return qs
    if re.fullmatch(r"\d{4}", text):
        return qs.filter(phone_tail=text)
    if re.fullmatch(r"[A-Za-z]+", text):
        # Initials are indexed; a Latin name ("Li 先生") has its letters in them too.
        return qs.filter(name_initials__startswith=text.lower())
    return qs.filter(name__icontains=text)


def can_see_contact(user, customer) -> bool:
    """Only the owning consultant sees the numbers unmasked without revealing."""
    return customer.owner_id == getattr(user, "pk", None)


def contact(user, customer) -> dict:
    """Phone and ID number as this viewer may see them."""
    if can_see_contact(user, customer):
        return {
            "phone": display_phone(customer.phone),
            "phone2": display_phone(customer.phone2),
            "id_number": customer.id_number,
            "masked": False,
        }
    return {
        "phone": mask_phone(display_phone(customer.phone)),
        "phone2": mask_phone(display_phone(customer.phone2)),
        "id_number": mask_id_number(customer.id_number),
        "masked": True,
        "can_reveal": access.has_perm(user, "customer.reveal", customer.project_id),
    }
