"""The one approval engine (seed 002 万科 1(5): a request climbs one level at a time and
nobody goes over their superior's head; seed 000: changes after subscription need a site
manager or higher).

``approval_request`` opens a request at the level just above the requester (or at a
level the caller names); ``approval_submit`` is the entry for a change that a requester
holding the final level decides at once (recorded as a request approved by them, so
every change has its request); ``approval_decide`` forwards, approves or rejects;
``approval_withdraw`` takes a waiting request back. When a request is decided or
withdrawn, its kind's ``apply`` runs in the same transaction. Kinds are registered by
the apps (``approvals.kinds``).
"""

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import DomainError, ErrorCode, conflict, invalid
from loupan.core.snapshot import snapshot

from .kinds import kind_of, kinds, may_see_kind, waiting_kinds
from .models import ApprovalRequest, ApprovalStatus, ApprovalStep, Decision

BUSY = ("已有同类审批在处理中。", "kind")


def _new_request(
    *,
    actor,
    project,
    subject,
    kind: str,
    payload: dict,
    reason: str,
    level: str,
    final: str,
    busy=BUSY,
    requested_by=None,
    **decided,
) -> ApprovalRequest:
    """Write a request (audited); a second open one of its kind on the same object is
    refused with ``busy`` (message, field) by the one-open-request constraint."""
    if not (reason or "").strip():
        raise invalid("reason", "请填写申请理由")
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                project_id=project.pk,
                subject_type=ContentType.objects.get_for_model(subject),
                subject_id=subject.pk,
                kind=kind,
                payload=payload,
                reason=reason.strip(),
                requested_by=requested_by or actor,
                requested_at=timezone.now(),
                level=level,
                final_level=final,
                **decided,
            )
    except IntegrityError as exc:
        raise conflict(*busy) from exc
    audit_create(actor=actor, obj=request)
    return request


def approval_request(
    *, actor, project, subject, kind: str, payload: dict, reason: str, final: str, **options
) -> ApprovalRequest:
    """Open a request at the level just above the requester (never skipping a level),
    or at ``level`` when the kind's rule names where it starts. ``requested_by``: whose
    request it is when another user files it (a price list is its drafter's)."""
    spec = kind_of(kind)
    levels = spec.levels(project)
    level = options.pop("level", None)
    if level is None:
        start = min(spec.level_of(actor, project) + 1, levels.index(final))
        level = levels[start]
    return _new_request(
        actor=actor,
        project=project,
        subject=subject,
        kind=kind,
        payload=payload,
        reason=reason,
        level=level,
        final=final,
        **options,
    )


def holds_final(actor, project, kind: str, final: str) -> bool:
    """Whether ``actor`` may decide at ``final`` themselves."""
    return final in kind_of(kind).held_levels(actor, project)


def approval_submit(
    *, actor, project, subject, kind: str, payload: dict, reason: str, final: str, **options
) -> ApprovalRequest:
    """A change that needs ``final``'s approval: a requester who holds that level (or a
    higher one) decides it at once, recorded as a request approved by them; anyone else
    opens a request one level above themselves."""
    spec = kind_of(kind)
    levels = spec.levels(project)
    own = spec.level_of(actor, project) >= levels.index(final)
    if not (spec.self_decide and own):
        return approval_request(
            actor=actor,
            project=project,
            subject=subject,
            kind=kind,
            payload=payload,
            reason=reason,
            final=final,
            **options,
        )
    now = timezone.now()
    request = _new_request(
        actor=actor,
        project=project,
        subject=subject,
        kind=kind,
        payload=payload,
        reason=reason,
        level=final,
        final=final,
        status=ApprovalStatus.APPROVED,
        decided_by=actor,
        decided_at=now,
        decision_reason="本人权限内办理",
        **options,
    )
    ApprovalStep.objects.create(
        request=request, level=final, actor=actor, decision=Decision.APPROVE, reason="", at=now
    )
    spec.apply(actor=actor, request=request, approved=True)
    return request


def can_withdraw(user, request: ApprovalRequest) -> tuple[bool, str]:
    """The requester, or a decider of the kind, takes back a request still waiting."""
    if request.status != ApprovalStatus.PENDING:
        return False, "该申请已处理，不能撤回。"
    spec = kind_of(request.kind)
    if request.requested_by_id != user.pk and not spec.held_levels(user, request.project_id):
        return False, "只有申请人或主管可以撤回申请。"
    return True, ""


def approval_withdraw(*, actor, request: ApprovalRequest) -> ApprovalRequest:
    """The requester (or a lead) takes back a request still waiting: what it asked for
    is undone as a rejection would (a held unit is released, a discount goes back to
    the reservation)."""
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        allowed, why = can_withdraw(actor, request)
        if not allowed:
            if request.status != ApprovalStatus.PENDING:
                raise conflict(why)
            raise DomainError(ErrorCode.PERMISSION_DENIED, why)
        before = snapshot(request)
        now = timezone.now()
        ApprovalStep.objects.create(
            request=request, level=request.level, actor=actor, decision=Decision.WITHDRAW, at=now
        )
        request.status = ApprovalStatus.WITHDRAWN
        request.decided_by, request.decided_at = actor, now
        request.save()
        audit_update(actor=actor, obj=request, before=before, extra={"decision": "withdraw"})
        kind_of(request.kind).apply(actor=actor, request=request, approved=False)
    return request


def can_decide(user, request: ApprovalRequest, approve: bool = True) -> tuple[bool, str]:
    """The request waits at a level the user holds (a higher one too where the kind
    allows it; to reject, any level where the kind lets a lower level stop it), and
    nobody decides a request they made unless the kind lets them."""
    if request.status != ApprovalStatus.PENDING:
        return False, "该申请已处理。"
    spec = kind_of(request.kind)
    if not spec.self_decide and request.requested_by_id == user.pk:
        return False, "不能审批自己提交的申请。"
    held = spec.held_levels(user, request.project_id)
    if not approve and spec.lower_may_reject and held:
        return True, ""
    if request.level not in held:
        if spec.explain is not None:
            return False, spec.explain(request)
        return False, "该申请当前不在您的审批级别，不能越级审批。"
    return True, ""


def approval_decide(*, actor, request: ApprovalRequest, approve: bool, reason: str = ""):
    """The level asked now decides: a rejection ends the request; an approval below the
    final level forwards it one level up; at the final level the change is applied (a
    higher level deciding in a lower one's place, where the kind allows it, decides at
    once)."""
    with transaction.atomic():
        spec = kind_of(request.kind)
        held = spec.held_levels(actor, request.project_id)
        if not held:
            raise DomainError(ErrorCode.PERMISSION_DENIED)
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != ApprovalStatus.PENDING:
            raise conflict("该申请已处理。")
        allowed, why = can_decide(actor, request, approve)
        if not allowed:
            raise DomainError(ErrorCode.PERMISSION_DENIED, why)
        if not approve and not (reason or "").strip():
            raise invalid("reason", "驳回须填写意见")
        before = snapshot(request)
        now = timezone.now()
        levels = spec.levels(request.project_id)
        final = request.level == request.final_level or (
            spec.higher_may_decide and request.final_level in held
        )
        decision = (
            Decision.APPROVE
            if approve and final
            else (Decision.FORWARD if approve else Decision.REJECT)
        )
        ApprovalStep.objects.create(
            request=request,
            level=request.level,
            actor=actor,
            decision=decision,
            reason=(reason or "").strip(),
            at=now,
        )
        if decision == Decision.FORWARD:
            request.level = levels[levels.index(request.level) + 1]
        else:
            request.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
            request.decided_by, request.decided_at = actor, now
            request.decision_reason = (reason or "").strip()
        request.save()
        audit_update(actor=actor, obj=request, before=before, extra={"decision": str(decision)})
        if decision != Decision.FORWARD:
            spec.apply(actor=actor, request=request, approved=approve)
    return request


def withdraw_open(subject, kinds_=None) -> None:
    """An object whose life ends leaves no request waiting on it; nothing of theirs is
    left to undo once the object itself is over."""
    open_ = requests_of(subject).filter(status=ApprovalStatus.PENDING)
    if kinds_ is not None:
        open_ = open_.filter(kind__in=kinds_)
    open_.update(status=ApprovalStatus.WITHDRAWN)


def requests_of(subject):
    return ApprovalRequest.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )


def pending_for(user, project):
    """待我审批: the requests waiting at a level the user holds, of every kind."""
    q = Q(pk__in=[])
    for spec in kinds():
        held = spec.held_levels(user, project)
        if held:
            q |= Q(kind=spec.code, level__in=held)
    return (
        ApprovalRequest.objects.filter(q, project=project, status=ApprovalStatus.PENDING)
        .select_related("requested_by", "subject_type")
        .order_by("requested_at", "pk")
    )


def waiting_elsewhere(user, project) -> list[tuple]:
    """The other things waiting for ``user``'s decision in ``project`` (the registered
    ``Waiting`` kinds they may decide): ``(waiting, count)``, counts above zero only."""
    out = []
    for waiting in waiting_kinds():
        if waiting.may_decide(user, project):
            n = waiting.count(user, project)
            if n:
                out.append((waiting, n))
    return out


def waiting_count(user, project) -> int:
    """待我审批's badge: every request waiting at a level ``user`` holds, and every other
    registered thing waiting for their decision (撞单申请, a day's sheet …)."""
    return pending_for(user, project).count() + sum(
        n for _waiting, n in waiting_elsewhere(user, project)
    )


def may_use_inbox(user, project) -> bool:
    """The inbox is for whoever sees or decides requests of some kind in ``project``
    (their own requests at least), or decides something else that waits there."""
    return any(may_see_kind(kind, user, project) for kind in kinds()) or any(
        waiting.may_decide(user, project) for waiting in waiting_kinds()
    )
