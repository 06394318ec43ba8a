"""Customer reads, restricted to what the viewer may see, with personal data masked."""

import datetime
import re

from django.conf import settings
from django.db.models import Count, OuterRef, Q
from django.utils import timezone

from loupan.accounts import access
from loupan.core.errors import DomainError
from loupan.core.identity import display_phone, normalize_phone
from loupan.core.masking import mask_id_number, mask_phone
from loupan.core.querysets import per_row

from .models import Customer, FollowUp


def customer_list(*, user, project):
    # The follow-up count is a correlated subquery, not a JOIN + GROUP BY: PostgreSQL
    # computes it only for the page's rows after ORDER BY … LIMIT, so a search matching
    # 30,000 of a million customers still costs one page (bench/customers.py).
    follow_ups = per_row(
        FollowUp.objects.filter(customer=OuterRef("pk")), "customer", Count("pk"), default=0
    )
    return (
        Customer.objects.restrict(user, "view")
        .filter(project=project, anonymized_at__isnull=True)
        .select_related("owner", "channel")
        .annotate(follow_up_count=follow_ups)
    )


def existing_owners(
    project, *, phones=(), id_numbers=()
) -> tuple[dict[str, Customer], dict[str, Customer]]:
    """撞单, the one rule (seed 002): a number is registered already when a live (not
    anonymized) customer of the project holds it, as phone or second phone, or as ID
    number. Answers ``(by_phone, by_id_number)``: each given number (normalized, as
    stored) that is registered, with the customer of the earliest registration. For one
    registration (``find_existing``) or a whole file (customers/imports.py), 500 numbers
    a query. The partial unique constraints decide races; this is the answer before."""
    phones = sorted({p for p in phones if p})
    id_numbers = sorted({n for n in id_numbers if n})
    by_phone: dict[str, Customer] = {}
    by_id: dict[str, Customer] = {}
    for start in range(0, max(len(phones), len(id_numbers)), 500):
        chunk = set(phones[start : start + 500])
        ids = set(id_numbers[start : start + 500])
        found = (
            Customer.objects.filter(project=project, anonymized_at__isnull=True)
            .filter(Q(phone__in=chunk) | Q(phone2__in=chunk) | Q(id_number__in=ids))
            .select_related("owner")
            .order_by("registered_at", "pk")
        )
        for customer in found:
            for number in (customer.phone, customer.phone2):
                if number in chunk:
                    by_phone.setdefault(number, customer)
            if customer.id_number in ids:
                by_id.setdefault(customer.id_number, customer)
    return by_phone, by_id


def find_existing(
    project, phone: str = "", id_number: str = "", phone2: str = "", *, besides=None
) -> Customer | None:
    """The live customer registered first with one of these numbers (as their phone or
    second phone) or this ID number in the project (``existing_owners`` for one
    registration or one edit), other than ``besides``, or None."""
    by_phone, by_id = existing_owners(project, phones=[phone, phone2], id_numbers=[id_number])
    found = [
        c for c in [*by_phone.values(), *by_id.values()] if c.pk != getattr(besides, "pk", None)
    ]
    return min(found, key=lambda c: (c.registered_at, c.pk), default=None)


def owner_label(customer) -> str:
    """What a 撞单 tells the second consultant about the customer: who owns them (or the
    public pool), nothing else (seed 002)."""
    return customer.owner.real_name if customer.owner else "公客池"


def search(qs, text: str):
    """Name, pinyin initials (张三 from "zs"), the last four digits of the phone, or a
    whole number in any form (spaces, dashes, +86: normalized as it is stored) as phone
    or second phone."""
    text = (text or "").strip()
    if not text:
        return qs
    if re.fullmatch(r"\d{4}", text):
        return qs.filter(phone_tail=text)
    if re.fullmatch(r"[+\d][\d\s()-]{6,}", text):
        try:
            number = normalize_phone(text, "q")
        except DomainError:
            return qs.none()
        return qs.filter(Q(phone=number) | Q(phone2=number))
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


def shown_numbers(user):
    """For a long list: a function of a customer's owner id, phone and ID number giving
    the phone and the ID number as ``contact`` shows them to ``user``, without the rest
    of ``contact``'s answer (the second number, whether the viewer may reveal them) that
    such a list does not show."""
    pk = getattr(user, "pk", None)

    def numbers(owner_id, phone: str, id_number: str) -> tuple[str, str]:
        phone = display_phone(phone)
        if owner_id == pk:  # can_see_contact
            return phone, id_number
        return mask_phone(phone), mask_id_number(id_number)

    return numbers


def agenda(user, project) -> dict:
    """A consultant's day: today's and overdue follow-ups of their own customers, and the
    customers whose ownership is about to expire."""
    today = timezone.localdate()
    planned = FollowUp.objects.filter(
        customer__project=project, customer__owner=user, customer__in_pool=False, done=False
    ).select_related("customer")
    # Today's first, then the most recent overdue ones.
    due = list(planned.filter(next_date=today).order_by("customer__name")[:50])
    due += list(planned.filter(next_date__lt=today).order_by("-next_date")[:30])
    soon = timezone.now() + datetime.timedelta(days=settings.LOUPAN_OWNERSHIP_WARN_DAYS)
    expiring = Customer.objects.filter(
        project=project,
        owner=user,
        in_pool=False,
        anonymized_at__isnull=True,
        ownership_expires_at__lte=soon,
    ).order_by("ownership_expires_at")[:50]
    return {"today": today, "due": due, "expiring": expiring}
