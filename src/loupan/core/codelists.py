"""Code lists the office keeps (跟进方式, 职业, 退房原因 …): one engine for every list.

An app registers a list in its ``AppConfig.ready()`` with ``register(kind, label,
system=…)``. The *system* entries are the codes the app's rules depend on (a follow-up
by visit moves the customer to 意向; 其他 asks for a reason …): they live in code, exist
on every project from the start and keep their meaning; the office may relabel and
reorder them, never retire them. On top of them the office adds its own entries per
project (``CodeEntry`` rows), renames, reorders and retires them. A retired entry is
no longer offered (``choices``) and refused on input (``check``: ``code_retired``), but
the records that hold it keep and show it (``labels``, ``label_of``). A stored value
that was never in the list (the free text of older records) is shown as it is.

Company entries (``company=True`` on the writes; ``CodeEntry`` rows with the company and
no project) are on the list of every project of the company, beside each project's own,
and are added, renamed, retired and brought back for all of them at once by whoever
holds ``codelist.manage`` on every active project of the company (``may_manage_company``);
a project's manager cannot change them (``conflict``). Lists an app keeps in its own
table (``store``) have no company entries.

Reads: ``entries``, ``choices``, ``labels``, ``label_of``, ``check``. Writes (one
transaction and its audit entry each, permission ``codelist.manage``): ``entry_add``,
``entry_change``, ``entry_retire``, ``entry_restore``.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import DomainError, ErrorCode, PermissionDenied, invalid
from .ports import access, audit
from .snapshot import snapshot

PERM = "codelist.manage"
CODE_RE = re.compile(r"^[a-z0-9_-]{1,20}$")


@dataclass(frozen=True)
class Kind:
    code: str
    label: str  # lazy
    system: tuple  # ((code, lazy label), …) in their default order
    order: int = 0
    # where an app keeps a list in its own table (认知途径: ``customers.Channel``, whose
    # rows other rows point to); None: ``CodeEntry`` rows
    store: "ModelStore | None" = None

    @property
    def system_codes(self) -> frozenset:
        return frozenset(code for code, _label in self.system)


@dataclass(frozen=True)
class ModelStore:
    """A list kept in an app's own model: one row per entry on a project, its code the
    row's id, its label ``label_field``, active while ``active_field`` is true."""

    model: type
    label_field: str = "name"
    active_field: str = "is_active"
    sort_field: str = "sort_order"

    def rows(self, project):
        return self.model._base_manager.filter(project_id=getattr(project, "pk", project))

    def entry(self, row) -> "Entry":
        active = getattr(row, self.active_field)
        return Entry(
            str(row.pk),
            getattr(row, self.label_field),
            getattr(row, self.sort_field),
            False,
            None if active else _RETIRED,
        )


_KINDS: dict[str, Kind] = {}


def register(kind: str, label, *, system=(), order: int = 0, store=None) -> None:
    """Add (or replace) the list ``kind``; ``system``: its fixed entries, e.g. a
    ``TextChoices.choices``; ``store``: a ``ModelStore`` when the app keeps the list in
    its own table."""
    _KINDS[kind] = Kind(kind, label, tuple(system), order, store)


def kinds() -> list[Kind]:
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.code))


def kind_of(kind: str) -> Kind:
    try:
        return _KINDS[kind]
    except (KeyError, TypeError):
        raise invalid("kind", _("没有这个代码表"), code=ErrorCode.NOT_FOUND) from None


@dataclass(frozen=True)
class Entry:
    code: str
    label: str
    sort_order: int
    system: bool
    retired_at: datetime | None = None
    company: bool = False  # the company's entry, on every project of the company

    @property
    def active(self) -> bool:
        return self.retired_at is None


_RETIRED = datetime.min  # a model store's retired rows keep no time


def _rows(kind: str, project):
    """The project's rows of the list and its company's (one query)."""
    from django.db.models import Subquery

    from .models import CodeEntry
    from .scope import project_model

    pk = getattr(project, "pk", project)
    company = project_model()._base_manager.filter(pk=pk).values("company_id")[:1]
    return CodeEntry.objects.filter(
        Q(project_id=pk) | Q(project__isnull=True, company_id=Subquery(company)), kind=kind
    )


def _company_id(project):
    company_id = getattr(project, "company_id", None)
    if company_id is None:
        from .scope import project_model

        pk = getattr(project, "pk", project)
        company_id = (
            project_model()._base_manager.filter(pk=pk).values_list("company_id", flat=True).first()
        )
    return company_id


def may_manage_company(user, project) -> bool:
    """Whether ``user`` keeps the company entries of ``project``'s company: they hold
    ``codelist.manage`` on every active project of the company (the company scope)."""
    from .scope import project_model

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    pks = list(
        project_model()
        ._base_manager.filter(company_id=_company_id(project), is_active=True)
        .values_list("pk", flat=True)
    )
    return bool(pks) and all(access.has_perm(user, PERM, pk) for pk in pks)


def _require_company(user, project) -> None:
    if not may_manage_company(user, project):
        denied = PermissionDenied(None).message
        raise PermissionDenied(f"{denied}：{access.label(PERM)}（{_('公司所有项目')}）")


def _require(actor, project, company: bool, spec=None) -> None:
    if company:
        _require_company(actor, project)
        if spec is not None and spec.store is not None:
            raise invalid("company", _("该代码表只能按项目维护"))
    else:
        access.require_perm(actor, PERM, project)


def entries(kind: str, project, *, active_only: bool = False) -> list[Entry]:
    """The list on ``project`` in its order: the system entries (as the office labelled
    and placed them) and the office's own, retired ones last unless left out."""
    spec = kind_of(kind)
    if spec.store is not None:
        out = [spec.store.entry(row) for row in spec.store.rows(project)]
        if active_only:
            out = [e for e in out if e.active]
        return sorted(out, key=lambda e: (not e.active, e.sort_order, e.label))
    rows = {}
    for row in _rows(kind, project):
        if row.project_id is None and (row.code in spec.system_codes or row.code in rows):
            continue  # the project's own row of a code wins
        rows[row.code] = row
    out = []
    for i, (code, label) in enumerate(spec.system):
        row = rows.pop(code, None)
        out.append(
            Entry(
                code,
                row.label if row else str(label),
                row.sort_order if row else (i + 1) * 10,
                True,
            )
        )
    for row in rows.values():
        if row.code in spec.system_codes:
            continue
        out.append(
            Entry(
                row.code,
                row.label,
                row.sort_order,
                False,
                row.retired_at,
                company=row.project_id is None,
            )
        )
    if active_only:
        out = [e for e in out if e.active]
    return sorted(out, key=lambda e: (not e.active, e.sort_order, e.label))


def choices(kind: str, project, *, current: str = "", blank: bool = False) -> list[tuple]:
    """What a form or serializer offers: the active entries, and the record's
    ``current`` value (retired, or free text of an older record) so that an edit keeps
    it."""
    out = [("", "—")] if blank else []
    listed = entries(kind, project)
    out += [(e.code, e.label) for e in listed if e.active]
    if current and current not in {code for code, _label in out}:
        out.append((current, label_of(kind, project, current, listed=listed)))
    return out


def labels(kind: str, project) -> dict[str, str]:
    """Every code of the list on ``project`` (retired ones too) with its label."""
    return {e.code: e.label for e in entries(kind, project)}


def label_of(kind: str, project, code: str, *, listed=None) -> str:
    """A stored value as the office reads it: its entry's label, marked when retired;
    a value never in the list (older free text) as it is."""
    if not code:
        return ""
    for e in listed if listed is not None else entries(kind, project):
        if e.code == code:
            return e.label if e.active else f"{e.label}（{_('已停用')}）"
    return code


def check(kind: str, project, value, field: str, *, current: str = "", blank: bool = True):
    """``value`` as a code of the list on ``project``, or the domain error naming
    ``field``: unknown (``code_unknown``) or retired (``code_retired``). The record's
    ``current`` value stays allowed (an edit that does not touch it)."""
    value = (value or "").strip() if isinstance(value, str) else value
    if value in (None, ""):
        if blank:
            return ""
        raise invalid(field, _("不能为空"))
    if not isinstance(value, str):
        raise invalid(field, _("不是本项目代码表中的选项"), code=ErrorCode.CODE_UNKNOWN)
    if current and value == current:
        return value
    spec = kind_of(kind)
    for e in entries(kind, project):
        if e.code == value:
            if not e.active:
                reason = _("“%(label)s”已停用") % {"label": e.label}
                raise DomainError(
                    ErrorCode.CODE_RETIRED,
                    f"{spec.label}：{reason}",
                    {field: [reason]},
                )
            return value
    reason = _("“%(value)s”不是本项目%(list)s中的选项") % {"value": value, "list": spec.label}
    raise DomainError(ErrorCode.CODE_UNKNOWN, f"{spec.label}：{reason}", {field: [reason]})


# --- writes ------------------------------------------------------------------------------------


def _clean_label(label) -> str:
    label = (label or "").strip() if isinstance(label, str) else ""
    if not label:
        raise invalid("label", _("请填写名称"))
    if len(label) > 50:
        raise invalid("label", _("名称不能超过50个字"))
    return label


def _clean_order(sort_order) -> int:
    try:
        value = int(sort_order)
    except (TypeError, ValueError):
        raise invalid("sort_order", _("排序须为0到32767之间的整数")) from None
    if not 0 <= value <= 32767 or isinstance(sort_order, bool | float):
        raise invalid("sort_order", _("排序须为0到32767之间的整数"))
    return value


def _label_taken(kind, project, label, code=""):
    for e in entries(kind, project):
        if e.label == label and e.code != code:
            raise DomainError(
                ErrorCode.CODE_EXISTS,
                _("“%(label)s”已在代码表中") % {"label": label},
                {"label": [_("已有同名选项")]},
            )


def _lock_list(spec, project):
    """Lock the list's rows (and serialize adds of the same list on the project row)."""
    project.__class__._base_manager.select_for_update().filter(pk=project.pk).first()
    rows = spec.store.rows(project) if spec.store else _rows(spec.code, project)
    return list(rows.select_for_update().order_by("pk"))


def entry_add(
    *, actor, project, kind: str, label, code: str = "", sort_order=None, company: bool = False
) -> Entry:
    """The office adds its own entry to a list (``code`` generated when not given; a
    model store's code is its row id); ``company``: to the list of every project of
    ``project``'s company (its code and label unused on every one of them)."""
    spec = kind_of(kind)
    _require(actor, project, company, spec)
    label = _clean_label(label)
    code = (code or "").strip() if isinstance(code, str) else code
    if code and (spec.store or not isinstance(code, str) or not CODE_RE.match(code)):
        raise invalid("code", _("代码只能由小写字母、数字、下划线和连字符组成，最多20位"))
    from .models import CodeEntry

    with transaction.atomic():
        rows = _lock_list(spec, project)
        listed = entries(kind, project)
        if company:
            listed = _company_listed(spec, project)
        if code and code in {e.code for e in listed}:
            raise DomainError(
                ErrorCode.CODE_EXISTS,
                _("代码“%(code)s”已在代码表中") % {"code": code},
                {"code": [_("已有该代码")]},
            )
        if company:
            _label_taken_company(spec, project, label)
        else:
            _label_taken(kind, project, label)
        if sort_order in (None, ""):
            sort_order = max((e.sort_order for e in listed), default=0) + 10
        sort_order = _clean_order(sort_order)
        if spec.store is not None:
            row = spec.store.model(project=project)
            setattr(row, spec.store.label_field, label)
            setattr(row, spec.store.sort_field, sort_order)
        else:
            if not code:
                taken = {e.code for e in listed}
                n = len(rows) + 1
                prefix = "g" if company else "c"  # a company's codes apart from a project's
                while f"{prefix}{n}" in taken:
                    n += 1
                code = f"{prefix}{n}"
            row = CodeEntry(kind=spec.code, code=code, label=label, sort_order=sort_order)
            if company:
                row.company_id = _company_id(project)
            else:
                row.project = project
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError as exc:
            raise DomainError(ErrorCode.CODE_EXISTS, fields={"label": [_("已有同名选项")]}) from exc
        audit.create(actor=actor, obj=row)
    return _entry(spec, row)


def _entry(spec, row) -> Entry:
    if spec.store is not None:
        return spec.store.entry(row)
    return Entry(
        row.code,
        row.label,
        row.sort_order,
        row.system,
        row.retired_at,
        company=row.project_id is None,
    )


def _company_rows(spec, project):
    from .models import CodeEntry

    return CodeEntry.objects.filter(
        kind=spec.code, project__isnull=True, company_id=_company_id(project)
    )


def _company_listed(spec, project) -> list[Entry]:
    """Every entry a company entry must not clash with: the system entries, the
    company's and those of each project of the company (locked: adds of the list on the
    company serialize on its rows)."""
    from django.apps import apps
    from django.conf import settings

    from .models import CodeEntry

    # adds of the company's entries serialize on the company row (there may be none yet)
    company = apps.get_model(settings.LOUPAN_COMPANY_MODEL)
    company._base_manager.select_for_update().filter(pk=_company_id(project)).first()
    list(_company_rows(spec, project).select_for_update().order_by("pk"))
    rows = CodeEntry.objects.filter(kind=spec.code).filter(
        Q(project__isnull=True, company_id=_company_id(project))
        | Q(project__company_id=_company_id(project))
    )
    out = [Entry(code, str(label), 0, True) for code, label in spec.system]
    return out + [_entry(spec, row) for row in rows]


def _label_taken_company(spec, project, label):
    for e in _company_listed(spec, project):
        if e.label == label and e.active:
            raise DomainError(
                ErrorCode.CODE_EXISTS,
                _("“%(label)s”已在代码表中") % {"label": label},
                {"label": [_("已有同名选项")]},
            )


def _entry_row(spec, project, code):
    """The locked row of ``code`` (a system entry's row made on its first change)."""
    from .models import CodeEntry

    rows = {str(r.pk) if spec.store else r.code: r for r in _lock_list(spec, project)}
    if isinstance(code, str) and code in rows:
        if not spec.store and rows[code].project_id is None:
            raise DomainError(
                ErrorCode.CONFLICT,
                _("公司统一的选项，由公司统一维护"),
                {"code": [_("公司统一的选项，由公司统一维护")]},
            )
        return rows[code], False
    if code in spec.system_codes:
        i, label = next((i, lab) for i, (c, lab) in enumerate(spec.system) if c == code)
        row = CodeEntry(
            project=project,
            kind=spec.code,
            code=code,
            label=str(label),
            sort_order=(i + 1) * 10,
            system=True,
        )
        return row, True
    raise invalid("code", _("代码表中没有该选项"), code=ErrorCode.NOT_FOUND)


def _company_row(spec, project, code):
    """The locked company entry ``code`` of ``project``'s company."""
    row = _company_rows(spec, project).select_for_update().filter(code=code).first()
    if row is None or not isinstance(code, str):
        raise invalid("code", _("公司代码表中没有该选项"), code=ErrorCode.NOT_FOUND)
    return row


def entry_change(
    *, actor, project, kind: str, code: str, label=None, sort_order=None, company: bool = False
) -> Entry:
    """Rename or move an entry (a system one too; ``company``: a company entry, on every
    project of the company)."""
    spec = kind_of(kind)
    _require(actor, project, company, spec)
    label = None if label is None else _clean_label(label)
    sort_order = None if sort_order in (None, "") else _clean_order(sort_order)
    with transaction.atomic():
        if company:
            row, new = _company_row(spec, project, code), False
        else:
            row, new = _entry_row(spec, project, code)
        before = None if new else snapshot(row)
        if label is not None and company:
            for e in _company_listed(spec, project):
                if e.label == label and e.code != code and e.active:
                    raise DomainError(
                        ErrorCode.CODE_EXISTS,
                        _("“%(label)s”已在代码表中") % {"label": label},
                        {"label": [_("已有同名选项")]},
                    )
        elif label is not None:
            _label_taken(kind, project, label, code)
        if label is not None:
            setattr(row, spec.store.label_field if spec.store else "label", label)
        if sort_order is not None:
            setattr(row, spec.store.sort_field if spec.store else "sort_order", sort_order)
        row.save()
        if new:
            audit.create(actor=actor, obj=row)
        else:
            audit.update(actor=actor, obj=row, before=before)
    return _entry(spec, row)


def entry_retire(
    *, actor, project, kind: str, code: str, retire: bool = True, company: bool = False
) -> Entry:
    """Retire the office's own entry (no longer offered; old records keep it), or bring
    it back (``retire=False``). A system entry cannot be retired. ``company``: a company
    entry, retired for every project of the company."""
    spec = kind_of(kind)
    _require(actor, project, company, spec)
    if code in spec.system_codes:
        raise DomainError(ErrorCode.SYSTEM_ENTRY, fields={"code": [_("系统选项不能停用")]})
    with transaction.atomic():
        if company:
            row = _company_row(spec, project, code)
        else:
            row, _new = _entry_row(spec, project, code)
        entry = _entry(spec, row)
        if entry.active != retire:
            state = _("已停用") if retire else _("未停用")
            raise DomainError(ErrorCode.CONFLICT, f"{entry.label}{state}", {"code": [state]})
        before = snapshot(row)
        if spec.store is not None:
            setattr(row, spec.store.active_field, not retire)
            row.save(update_fields=[spec.store.active_field])
        else:
            row.retired_at = timezone.now() if retire else None
            row.save(update_fields=["retired_at"])
        audit.update(actor=actor, obj=row, before=before)
    return _entry(spec, row)


def entry_restore(*, actor, project, kind: str, code: str, company: bool = False) -> Entry:
    return entry_retire(
        actor=actor, project=project, kind=kind, code=code, retire=False, company=company
    )
