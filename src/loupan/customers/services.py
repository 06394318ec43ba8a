"""Customer registration, ownership and 撞单, households, follow-ups, the public pool,
reveal of personal data (seed 002 客户登记管理办法; 万科 制度; 北京 客户管理制度)."""

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from loupan.accounts import access
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core import codelists
from loupan.core.errors import DomainError, ErrorCode, PermissionDenied, invalid
from loupan.core.identity import (
    check_id_number,
    display_phone,
    normalize_phone,
    phone_tail,
    pinyin_initials,
)
from loupan.core.services import coerce, lock, validate
from loupan.core.snapshot import snapshot
from loupan.inventory.models import Layout

from . import selectors
from .errors import CustomerError
from .models import (
    ClaimStatus,
    Customer,
    FollowUp,
    FollowUpWay,
    Grade,
    Household,
    OwnershipClaim,
    Stage,
    Visit,
)

# What a consultant fills in at registration besides the required three.
OPTIONAL_FIELDS = [
    "gender",
    "age_band",
    "phone2",
    "occupation",
    "income_band",
    "education",
    "residence_district",
    "work_district",
    "family_size",
    "budget_min",
    "budget_max",
    "wanted_area",
    "floor_preference",
    "purpose",
    "timing",
    "motive",
    "channel",
    "note",
    "grade",
]
EDITABLE_FIELDS = ["name", "wanted_layout", *OPTIONAL_FIELDS]


def ownership_days() -> int:
    return settings.LOUPAN_OWNERSHIP_DAYS


def ownership_expiry(from_time):
    """When an ownership that starts (or is renewed) at ``from_time`` runs out: the
    registration, the owner's last follow-up, an assignment, a take from the pool, a
    handover or an import, plus ``LOUPAN_OWNERSHIP_DAYS`` (seed 002)."""
    return from_time + datetime.timedelta(days=ownership_days())


class CustomerExists(DomainError):
    """Registering a number (or ID number) that a live customer already has: the second
    consultant learns only that the customer exists and who owns them (seed 002)."""

    def __init__(self, customer: Customer, field: str = "phone"):
        owner = selectors.owner_label(customer)
        super().__init__(
            CustomerError.CUSTOMER_EXISTS,
            f"该客户已由 {owner} 登记，可提交撞单申请由主管裁定。",
            {field: ["该客户已登记"]},
        )
        self.customer = customer
        self.owner_name = owner

    def as_dict(self) -> dict:
        data = super().as_dict()
        data["customer"] = {
            "id": self.customer.pk,
            "owner": self.owner_name,
            "registered_at": self.customer.registered_at.isoformat(),
        }
        return data


OTHER = "other"  # 其他: the value in words, in the field ``<name>_other``
OTHER_LAYOUT = OTHER_OCCUPATION = OTHER


def _words_of_other(value, other, *, field: str, label: str, noun: str) -> str | None:
    """The words of 其他 for the choice ``field`` (shown as ``label``) when ``value`` is
    其他 (refused when missing or longer than 50 characters); None when it is not, and a
    refusal when words came without 其他. The refusals name ``<field>_other``."""
    other = (other or "").strip() if isinstance(other, str) else ""
    words = f"{field}_other"
    if value == OTHER:
        if not other:
            raise invalid(words, f"请填写{noun}", f"{label}选择“其他”时请填写{noun}。")
        if len(other) > 50:
            raise invalid(words, "不能超过50个字", f"其他{noun}不能超过50个字。")
        return other
    if other:
        raise invalid(
            words, f"只有{label}选择“其他”时才填写", f"只有{label}选择“其他”时才填写其他{noun}。"
        )
    return None


def wanted_layout_of(project, value, other="", *, current: str = "") -> str:
    """The 意向户型 to store: the name of one of the project's layouts, or for ``other``
    the words in ``other``; the record's ``current`` value (older free text) stays as it
    is. Anything else is refused naming the field (``layout_unknown``)."""
    value = (value or "").strip() if isinstance(value, str) else ""
    words = _words_of_other(value, other, field="wanted_layout", label="意向户型", noun="户型")
    if words is not None:
        return words
    if current and value == current:
        return value
    if Layout.objects.filter(project=project, name=value).exists():
        return value
    reason = f"“{value}”不是本项目的户型，请选择本项目的户型或“其他”"
    raise DomainError(
        CustomerError.LAYOUT_UNKNOWN, f"意向户型：{reason}。", {"wanted_layout": [reason]}
    )


def occupation_of(project, value, other="", *, current: str = "") -> str:
    """The 职业 to store: a code of the office's list ``occupation`` on the project
    (``core.codelists``: unknown ``code_unknown``, retired ``code_retired``), or for
    ``other`` (其他) the words in ``other`` (words that are the label of an active entry
    are stored as that entry); the record's ``current`` value (a retired entry, an older
    record's free text) stays as it is."""
    value = (value or "").strip() if isinstance(value, str) else value
    words = _words_of_other(value, other, field="occupation", label="职业", noun="职业")
    if words is not None:
        for entry in codelists.entries("occupation", project, active_only=True):
            if entry.label == words and entry.code != OTHER:
                return entry.code
        return words
    return codelists.check("occupation", project, value, "occupation", current=current)


# the choices whose 其他 comes in words, in ``<name>_other``: (name, what stores it)
CHOICES_OR_WORDS = (("wanted_layout", wanted_layout_of), ("occupation", occupation_of))


def customer_build(
    *,
    actor,
    project,
    owner,
    name: str,
    phone: str,
    wanted_layout: str,
    wanted_layout_other: str = "",
    consent: bool = False,
    id_number: str = "",
    data=None,
    registered_at=None,
) -> Customer:
    """The unsaved customer of a registration or of an import row (customers/imports.py),
    by one set of rules: name, phone and wanted layout are required (seed 002 rule 2);
    numbers are normalized and the ID number is checked (core.identity) and taken only
    with the recorded consent (PIPL); optional fields are typed; the channel and the
    owner belong to the project; the registration time is not in the future. Every
    problem is in the one DomainError (field → reasons), so that an import lists them
    all. Whether the number is registered already (撞单) is the caller's check."""
    data = dict(data or {})
    errors: dict[str, list[str]] = {}
    messages: list[str] = []

    codes: list = []

    def refuse(exc: DomainError) -> None:
        codes.append(exc.code)
        messages.append(str(exc.message))
        for field, reasons in exc.fields.items():
            errors.setdefault(field, []).extend(reasons)

    required = [
        ("name", name, "请填写客户姓名或称呼"),
        ("wanted_layout", wanted_layout, "请填写意向户型"),
        ("phone", phone, "请填写手机号"),
    ]
    missing = {field: [reason] for field, value, reason in required if not (value or "").strip()}
    if missing:
        refuse(
            DomainError(ErrorCode.INVALID, "登记无效：姓名、手机号和意向户型必须填写。", missing)
        )
    occupation_other = data.pop("occupation_other", "")
    if "occupation" in data or occupation_other:
        try:
            data["occupation"] = occupation_of(
                project, data.get("occupation", ""), occupation_other
            )
        except DomainError as exc:
            data.pop("occupation", None)
            refuse(exc)
    unknown = sorted(set(data) - set(OPTIONAL_FIELDS))
    if unknown:  # the registration time and the owner are the server's, never the form's
        refuse(
            DomainError(
                ErrorCode.INVALID,
                f"登记时不能填写：{'、'.join(unknown)}。",
                {name: ["登记时不能填写此项"] for name in unknown},
            )
        )
    now = timezone.now()
    registered_at = registered_at or now
    if registered_at > now:
        refuse(invalid("registered_at", "不能晚于现在", "登记时间不能晚于现在。"))
    customer = Customer(
        project=project,
        owner=owner,
        registered_by=actor,
        registered_at=registered_at,
        name=(name or "").strip(),
        name_initials=pinyin_initials(name or ""),
        wanted_layout=(wanted_layout or "").strip(),
        last_follow_up_at=now,
        ownership_expires_at=ownership_expiry(now),
        stage=Stage.POTENTIAL,
    )
    if "wanted_layout" not in errors:
        try:
            customer.wanted_layout = wanted_layout_of(project, wanted_layout, wanted_layout_other)
        except DomainError as exc:
            refuse(exc)
    if "phone" not in errors:
        try:
            customer.phone = normalize_phone(phone, "phone")
            customer.phone_tail = phone_tail(customer.phone)
        except DomainError as exc:
            refuse(exc)
    parsed_id = None
    if id_number:
        if not consent:
            refuse(
                invalid(
                    "consent", "请先取得客户同意", "登记身份证号须先取得客户的个人信息处理同意。"
                )
            )
        try:
            parsed_id = check_id_number(id_number)
        except DomainError as exc:
            refuse(exc)
    for field in OPTIONAL_FIELDS:
        if field in data and data[field] not in (None, ""):
            try:
                setattr(customer, field, coerce(customer, field, data[field]))
            except DomainError as exc:
                refuse(exc)
    if customer.phone2:
        try:
            customer.phone2 = normalize_phone(customer.phone2, "phone2")
        except DomainError as exc:
            refuse(exc)
    if customer.channel_id and customer.channel.project_id != project.pk:
        refuse(invalid("channel", "不属于本项目", "认知途径不属于本项目。"))
    if owner is not None and not access.has_perm(owner, "customer.add", project):
        refuse(
            invalid(
                "owner",
                f"{owner.real_name or owner.username} 不是本项目的置业顾问",
                f"{owner.real_name or owner.username} 不是本项目的置业顾问。",
            )
        )
    if parsed_id:
        customer.id_number, customer.birth_date = parsed_id.number, parsed_id.birth_date
        customer.gender = customer.gender or parsed_id.gender
    if consent:
        customer.consent_at, customer.consent_version = now, settings.LOUPAN_CONSENT_VERSION
    # The numbers are checked by core.identity above; a number already registered is
    # 撞单 (selectors.existing_owners and the database's constraint), not a validation
    # error.
    exclude = ["owner", "registered_by", "project", "channel", "household"]
    try:
        validate(customer, exclude=[*exclude, "phone", "phone_tail", "id_number", *errors])
    except DomainError as exc:
        refuse(exc)
    if errors:
        # a layout not of the project, or an occupation not (or no longer) of the
        # office's list, alone, keeps its own code for the client
        own = (CustomerError.LAYOUT_UNKNOWN, ErrorCode.CODE_UNKNOWN, ErrorCode.CODE_RETIRED)
        only = len(codes) == 1 and codes[0] in own
        raise DomainError(codes[0] if only else ErrorCode.INVALID, messages[0], errors)
    return customer


def customer_register(
    *,
    actor,
    project,
    name: str,
    phone: str,
    wanted_layout: str,
    wanted_layout_other: str = "",
    consent: bool = False,
    id_number: str = "",
    visited: bool = True,
    brought_by=None,
    companions: str = "",
    data=None,
) -> Customer:
    """Register a visitor 来访登记, owned by the registering consultant (the rules of
    ``customer_build``), with the first visit (``visited``; ``brought_by`` the old
    customer of a 老带新, ``companions`` who came along) in the same transaction as the
    customer and its audit entry. A number or ID number that a live customer already has
    (``selectors.find_existing``, 撞单) creates nothing and raises CustomerExists (409);
    the database's unique constraint decides races between two consultants."""
    access.require_perm(actor, "customer.add", project)
    companions = (companions or "").strip()
    if companions and not visited:
        raise invalid("companions", "没有来访，不能填写同行人")
    customer = customer_build(
        actor=actor,
        project=project,
        owner=actor,
        name=name,
        phone=phone,
        wanted_layout=wanted_layout,
        wanted_layout_other=wanted_layout_other,
        consent=consent,
        id_number=id_number,
        data=data,
    )
    visit = None
    if visited:
        visit = Visit(
            consultant=actor,
            visited_at=customer.registered_at,
            is_first=True,
            brought_by=brought_by,
            companions=companions,
        )
        validate(visit, exclude=["customer", "consultant", "brought_by"])
    existing = selectors.find_existing(project, customer.phone, customer.id_number, customer.phone2)
    if existing is not None:
        raise CustomerExists(existing, _number_field(existing, customer))
    try:
        with transaction.atomic():
            customer.save(force_insert=True)
            if visit is not None:
                visit.customer = customer
                visit.save(force_insert=True)
            audit_create(actor=actor, obj=customer)
    except IntegrityError as exc:
        # The other consultant's registration committed first: theirs is the customer.
        existing = selectors.find_existing(
            project, customer.phone, customer.id_number, customer.phone2
        )
        if existing is None:
            raise
        raise CustomerExists(existing, _number_field(existing, customer)) from exc
    return customer


def _number_field(existing: Customer, customer: Customer) -> str:
    """Which of ``customer``'s fields holds what ``existing`` has (for the 撞单 answer)."""
    held = {existing.phone, existing.phone2} - {""}
    if customer.phone in held:
        return "phone"
    if customer.phone2 and customer.phone2 in held:
        return "phone2"
    return "id_number" if customer.id_number else "phone"


def _require_owner_or(actor, customer: Customer, code: str) -> None:
    if customer.owner_id == actor.pk and access.has_perm(
        actor, "customer.add", customer.project_id
    ):
        return
    access.require_perm(actor, code, customer.project_id)


def customer_update(*, actor, customer: Customer, data: dict) -> Customer:
    """The owner (or a supervisor) corrects the customer's data. The registration time
    and the owner are not fields here: they cannot be back-dated or reassigned by an edit."""
    _require_owner_or(actor, customer, "customer.assign")
    with transaction.atomic():
        customer = lock(customer)
        before = snapshot(customer)
        data = dict(data)
        for name, store in CHOICES_OR_WORDS:  # a choice of the project, or 其他 in words
            other = data.pop(f"{name}_other", "")
            if name in data or other:
                current = getattr(customer, name)
                data[name] = store(
                    customer.project, data.get(name, current), other, current=current
                )
        for name, value in data.items():
            if name not in EDITABLE_FIELDS:
                raise invalid(name, "不能在此修改", f"字段 {name} 不能在此修改。")
            setattr(customer, name, coerce(customer, name, value))
        if not customer.name.strip() or not customer.wanted_layout.strip():
            empty = "name" if not customer.name.strip() else "wanted_layout"
            raise invalid(empty, "不能为空", "姓名和意向户型不能为空。")
        if customer.phone2:  # stored as registration stores it (one number, one form)
            customer.phone2 = normalize_phone(customer.phone2, "phone2")
        customer.name_initials = pinyin_initials(customer.name)
        validate(customer)
        try:
            with transaction.atomic():
                customer.save()
        except IntegrityError as exc:
            # a number (or ID number) another live customer holds: 撞单, as at registration
            existing = selectors.find_existing(
                customer.project,
                customer.phone,
                customer.id_number,
                customer.phone2,
                besides=customer,
            )
            if existing is None:
                raise
            raise CustomerExists(existing, _number_field(existing, customer)) from exc
        audit_update(actor=actor, obj=customer, before=before)
    return customer


# the stages a person sets by hand; 成交 comes from a deal
MANUAL_STAGES = (Stage.POTENTIAL, Stage.INTENT)


def may_set_stage(actor, customer: Customer) -> bool:
    """Whether ``customer_set_stage`` would let ``actor`` move ``customer`` (pages ask)."""
    if customer.stage not in MANUAL_STAGES:
        return False
    try:
        _require_owner_or(actor, customer, "customer.assign")
    except DomainError:
        return False
    return True


def customer_set_stage(*, actor, customer: Customer, stage: str, reason: str = "") -> Customer:
    """潜在 ↔ 意向 by the owner (or a supervisor): a call or a meeting elsewhere can show
    the intent that a 到访 follow-up shows by itself (seed 002). 成交 comes only from a
    deal, and a buyer's stage is not changed by hand. Audited with the reason."""
    _require_owner_or(actor, customer, "customer.assign")
    if stage not in MANUAL_STAGES:
        raise invalid("stage", "只能设为潜在或意向", "阶段只能设为潜在或意向（成交由交易产生）。")
    reason = (reason or "").strip()
    with transaction.atomic():
        customer = lock(customer)
        if customer.stage == Stage.DEAL:
            raise DomainError(
                ErrorCode.CONFLICT, "成交客户的阶段由交易决定。", {"stage": ["成交客户不能改阶段"]}
            )
        if customer.stage == stage:
            return customer
        before = snapshot(customer)
        customer.stage = stage
        customer.save(update_fields=["stage", "updated_at"])
        audit_update(
            actor=actor, obj=customer, before=before, extra={"reason": reason} if reason else None
        )
    return customer


def customer_set_grade(*, actor, customer: Customer, grade: str) -> Customer:
    """A/B/C/D is set by the owner (seed 000)."""
    if grade not in Grade.values:
        raise invalid("grade", "无效的等级", "等级只能是 A、B、C 或 D。")
    return customer_update(actor=actor, customer=customer, data={"grade": grade})


def follow_up_add(
    *,
    actor,
    customer: Customer,
    way: str,
    content: str,
    at=None,
    reaction: str = "",
    next_step: str = "",
    next_date=None,
) -> FollowUp:
    """A follow-up by the owner renews the ownership for LOUPAN_OWNERSHIP_DAYS; a visit
    moves a potential customer to 意向."""
    if customer.owner_id != actor.pk:
        raise PermissionDenied("只有客户的归属顾问可以登记跟进。")
    way = codelists.check("followup_way", customer.project_id, way, "way", blank=False)
    if not (content or "").strip():
        raise invalid("content", "请填写跟进内容", "请填写跟进内容。")
    now = timezone.now()
    at = at or now
    if at > now + datetime.timedelta(minutes=5):
        raise invalid("at", "不能晚于现在", "跟进时间不能晚于现在。")
    if next_date is not None and next_date < timezone.localdate():
        raise invalid("next_date", "不能早于今天", "下次跟进日期不能早于今天。")
    with transaction.atomic():
        customer = lock(customer)
        before = snapshot(customer)
        FollowUp.objects.filter(customer=customer, done=False, next_date__isnull=False).update(
            done=True
        )
        follow_up = FollowUp.objects.create(
            customer=customer,
            consultant=actor,
            at=at,
            way=way,
            content=content.strip(),
            reaction=reaction,
            next_step=next_step,
            next_date=next_date,
        )
        customer.last_follow_up_at = max(at, customer.last_follow_up_at or at)
        customer.ownership_expires_at = ownership_expiry(customer.last_follow_up_at)
        if way == FollowUpWay.VISIT and customer.stage == Stage.POTENTIAL:
            customer.stage = Stage.INTENT
        customer.save(
            update_fields=["last_follow_up_at", "ownership_expires_at", "stage", "updated_at"]
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=follow_up,
            project_id=customer.project_id,
            extra={"customer": customer.pk, "way": way},
        )
        audit_update(actor=actor, obj=customer, before=before)
    return follow_up


def customer_reveal(*, actor, customer: Customer) -> dict:
    """Show the full phone and ID number: the owner sees them anyway; roles with
    customer.reveal may, and every reveal is an audit entry."""
    if customer.owner_id != actor.pk:
        access.require_perm(actor, "customer.reveal", customer.project_id)
    audit_record(
        actor=actor,
        action=AuditAction.REVEAL,
        obj=customer,
        extra={"fields": ["phone", "phone2", "id_number"]},
    )
    return {
        "phone": display_phone(customer.phone),
        "phone2": display_phone(customer.phone2),
        "id_number": customer.id_number,
    }


def claim_create(*, actor, customer: Customer, reason: str = "") -> OwnershipClaim:
    """A consultant who met the customer too files a claim (撞单申请)."""
    access.require_perm(actor, "customer.add", customer.project_id)
    if customer.owner_id == actor.pk:
        raise invalid("customer", "已是您的客户", "这是您自己的客户。")
    try:
        with transaction.atomic():
            claim = OwnershipClaim.objects.create(
                customer=customer, claimant=actor, reason=reason.strip()
            )
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=claim,
                project_id=customer.project_id,
                extra={"customer": customer.pk},
            )
    except IntegrityError as exc:
        raise DomainError(CustomerError.CLAIM_EXISTS) from exc
    return claim


def may_decide_claims(user, project) -> bool:
    """撞单申请 are decided by the supervisors and above (``customer.assign``): the
    claims page, its place in the navigation and the 待我审批 badge ask this."""
    return access.has_perm(user, "customer.assign", project)


def open_claims(user, project):
    """The claims waiting for ``user``'s decision in ``project`` (none for whoever may
    not decide them)."""
    if not may_decide_claims(user, project):
        return OwnershipClaim.objects.none()
    return OwnershipClaim.objects.filter(customer__project=project, status=ClaimStatus.OPEN)


def claim_decide(*, actor, claim: OwnershipClaim, grant: bool, reason: str) -> OwnershipClaim:
    """The supervisor decides, with a reason; by default the earlier registration keeps
    the customer (grant=False)."""
    if not may_decide_claims(actor, claim.customer.project_id):
        raise access.permission_error("customer.assign")
    if not (reason or "").strip():
        raise invalid("reason", "请填写处理意见", "请填写处理意见。")
    with transaction.atomic():
        claim = lock(claim)
        if claim.status != ClaimStatus.OPEN:
            raise DomainError(CustomerError.CLAIM_DECIDED)
        claim.status = ClaimStatus.GRANTED if grant else ClaimStatus.REJECTED
        claim.decided_by, claim.decided_at, claim.decision_reason = (
            actor,
            timezone.now(),
            reason.strip(),
        )
        claim.save()
        audit_record(
            actor=actor,
            action=AuditAction.ACTION,
            obj=claim,
            project_id=claim.customer.project_id,
            extra={"decision": claim.status, "reason": claim.decision_reason},
        )
        if grant:
            customer_assign(
                actor=actor,
                customer=claim.customer,
                to_user=claim.claimant,
                reason=f"撞单裁定：{claim.decision_reason}",
            )
    return claim


def customer_assign(*, actor, customer: Customer, to_user, reason: str) -> Customer:
    """Supervisors and managers reassign, always with a reason in the audit trail;
    consultants never can (seed 002 万科 1(4))."""
    access.require_perm(actor, "customer.assign", customer.project_id)
    if not (reason or "").strip():
        raise invalid("reason", "请填写分配原因", "请填写分配原因。")
    if not access.has_perm(to_user, "customer.add", customer.project_id):
        raise invalid("to_user", "不是本项目的置业顾问", "接收人不是本项目的置业顾问。")
    with transaction.atomic():
        customer = lock(customer)
        before = snapshot(customer)
        now = timezone.now()
        customer.owner, customer.in_pool = to_user, False
        customer.last_follow_up_at = now
        customer.ownership_expires_at = ownership_expiry(now)
        customer.save()
        audit_update(actor=actor, obj=customer, before=before, extra={"reason": reason.strip()})
    return customer


def pool_expire(*, now=None) -> int:
    """Customers whose ownership expired move to the public pool 公客池."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            Customer.objects.select_for_update()
            .filter(in_pool=False, ownership_expires_at__lte=now, anonymized_at__isnull=True)
            .exclude(stage=Stage.DEAL)
            .order_by("pk")
        )
        for customer in expired:
            before = snapshot(customer)
            customer.in_pool, customer.owner = True, None
            customer.save(update_fields=["in_pool", "owner", "updated_at"])
            audit_update(
                actor=None, obj=customer, before=before, extra={"reason": "归属到期，转入公客池"}
            )
    return len(expired)


def pool_take(*, actor, customer: Customer) -> Customer:
    """Another consultant takes a customer from the pool; the first to take wins."""
    access.require_perm(actor, "customer.add", customer.project_id)
    with transaction.atomic():
        customer = lock(customer)
        if not customer.in_pool:
            raise DomainError(ErrorCode.CONFLICT, "该客户已被其他顾问认领。")
        before = snapshot(customer)
        now = timezone.now()
        customer.owner, customer.in_pool = actor, False
        customer.last_follow_up_at, customer.ownership_expires_at = now, ownership_expiry(now)
        customer.save()
        audit_update(actor=actor, obj=customer, before=before, extra={"reason": "从公客池认领"})
    return customer


def household_link(*, actor, customers: list[Customer]) -> Household:
    """Link spouses, partners, parents and children as one customer (seed 002): the
    household belongs to the consultant of its earliest registration, so every member
    moves to that owner (each move audited with the reason)."""
    if len(customers) < 2:
        raise invalid("customers", "至少两位", "请至少选择两位客户。")
    project_ids = {c.project_id for c in customers}
    if len(project_ids) != 1:
        raise invalid("customers", "不属于同一项目", "客户必须属于同一项目。")
    access.require_perm(actor, "customer.assign", customers[0].project_id)
    with transaction.atomic():
        members = list(
            Customer.objects.select_for_update()
            .filter(pk__in=[c.pk for c in customers])
            .order_by("pk")
        )
        households = {c.household_id for c in members if c.household_id}
        if households:  # joining an existing household brings its other members along
            members = list(
                Customer.objects.select_for_update()
                .filter(Q(pk__in=[c.pk for c in members]) | Q(household_id__in=households))
                .order_by("pk")
            )
        first = min(members, key=lambda c: (c.registered_at, c.pk))
        household = first.household or next((c.household for c in members if c.household_id), None)
        if household is None:
            household = Household.objects.create(project_id=first.project_id)
        for customer in members:
            before = snapshot(customer)
            customer.household = household
            if first.owner_id and customer.owner_id != first.owner_id:
                customer.owner, customer.in_pool = first.owner, False
                customer.ownership_expires_at = first.ownership_expires_at
            customer.save()
            audit_update(
                actor=actor,
                obj=customer,
                before=before,
                extra={"reason": f"同一家庭，归属最早登记客户 {first.name} 的顾问"},
            )
    return household


def follow_up_summary(customer: Customer) -> dict:
    """Follow-ups since the first visit against the expected minimum (seed 002: at least
    three after a visit)."""
    count = customer.follow_ups.count()
    return {
        "count": count,
        "expected": settings.LOUPAN_MIN_FOLLOW_UPS,
        "short": count < settings.LOUPAN_MIN_FOLLOW_UPS,
    }


# Erased on anonymization; what stays (grade, stage, channel, layout, budget, purpose,
# dates, visits and follow-ups as events) keeps every statistic counting the customer.
ANONYMIZED_VALUES = {
    "name": "已匿名",
    "name_initials": "",
    "phone": "",
    "phone_tail": "",
    "phone2": "",
    "id_number": "",
    "birth_date": None,
    "occupation": "",
    "note": "",
    "motive": "",
    "problem": "",
    "problem_at": None,
    "ownership_expires_at": None,
    "in_pool": False,
}


def _erase(customer: Customer, now) -> None:
    for name, value in ANONYMIZED_VALUES.items():
        setattr(customer, name, value)
    customer.anonymized_at = now
    customer.save()
    customer.visits.update(companions="", note="")
    customer.follow_ups.update(content="", reaction="", next_step="", next_date=None)
    customer.calls.update(name="", phone="", question="")


def customer_anonymize(*, actor, customer: Customer, reason: str) -> Customer:
    """Erase a prospect's personal data on request (PIPL art. 47): name, numbers, ID
    number, free texts of visits, follow-ups and linked calls. The row stays, so the
    reports keep counting the visit, its channel and its grade. A buyer (stage 成交) is
    refused: a deal's parties must be kept with the contract. Supervisors and managers
    only (``customer.assign``), with a reason in the audit trail."""
    access.require_perm(actor, "customer.assign", customer.project_id)
    if not (reason or "").strip():
        raise invalid("reason", "必填", "请填写匿名化原因。")
    with transaction.atomic():
        customer = lock(customer)
        if customer.anonymized_at:
            raise DomainError(CustomerError.CUSTOMER_ANONYMIZED)
        if customer.stage == Stage.DEAL:
            raise DomainError(
                ErrorCode.CONFLICT,
                "成交客户的信息随合同保存，不能匿名化。",
                {"stage": ["成交客户不能匿名化"]},
            )
        before = snapshot(customer)
        _erase(customer, timezone.now())
        audit_update(actor=actor, obj=customer, before=before, extra={"reason": reason.strip()})
    return customer


def anonymize_expired(*, now=None) -> int:
    """Prospects with no contact for ``LOUPAN_RETENTION_DAYS`` are anonymized by
    themselves (the retention period of the consent text); 0 turns it off."""
    days = settings.LOUPAN_RETENTION_DAYS
    if not days:
        return 0
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=days)
    due = (
        Customer.objects.filter(anonymized_at__isnull=True)
        .exclude(stage=Stage.DEAL)
        .filter(
            Q(last_follow_up_at__lt=cutoff)
            | Q(last_follow_up_at__isnull=True, registered_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    count = 0
    for pk in list(due):
        with transaction.atomic():
            customer = Customer.objects.select_for_update().get(pk=pk)
            if customer.anonymized_at or customer.stage == Stage.DEAL:
                continue
            before = snapshot(customer)
            _erase(customer, now)
            audit_update(
                actor=None, obj=customer, before=before, extra={"reason": "超过保存期限自动匿名化"}
            )
            count += 1
    return count


def process_due(*, now=None) -> dict:
    """What the customers part runs by itself (``loupan run-due``): expired ownership to
    the pool, expired retention to anonymization."""
    return {"pool": pool_expire(now=now), "anonymized": anonymize_expired(now=now)}
