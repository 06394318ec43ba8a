"""How the audit trail reads to a person (issue 12): one presenter for the auditor's
page, every object's history tab, the trail's export and the API.

What is stored and hashed stays as it is (``verify-audit`` proves the same thing);
this module only reads it. For each entry it gives:

* the time in the office's time zone (``settings.TIME_ZONE``);
* what the entry is about: the model's ``verbose_name`` (``交易``, not ``deals.deal``)
  and the object's name as the trail recorded it, linked to the object's page while
  the object exists (``get_absolute_url``, or the URL an app registers here); an object
  deleted since keeps its stored name, without a link;
* each changed field by its ``verbose_name``, its values as a person reads them: a
  choice by its label (before and after), a boolean as 是/否, money with separators,
  a date-time in local time, a foreign key as the referenced object's name (linked);
* the extra facts by label, an export's filters as "label: value" lines;
* personal numbers masked whoever looks (``core.masking``): the fields a model lists
  in ``audit_masked_fields`` (stored masked already) and those an app registers here
  (stored as they were typed, e.g. a complaint's contact number), and numbers typed
  into an export's search; floor prices are dropped for those who may not see them
  (``AuditEntry.hide_for``).

It is cheap on a long page: the objects the entries name and the objects their
foreign keys point to are read with one query per model (``present`` reads them all
for the whole page at once), never one per entry.

Apps say what the trail cannot guess in their ``AppConfig.ready()``:
``register(model_label, url=…, masked=…, related=…)`` and
``register_export(what, title=…, filterset=…)``.
"""

import datetime
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.urls import NoReverseMatch, Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.core.masking import mask_personal, mask_personal_text
from loupan.core.pages import may_open
from loupan.core.scope import project_model

from .models import AuditAction, AuditEntry

EMPTY = "—"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
VALUE_TIME_FORMAT = "%Y-%m-%d %H:%M"
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)

# Labels of the keys that entries' ``extra`` and exports' filters use across the apps,
# when the model has no field of that name (a field's own verbose_name comes first).
COMMON_LABELS = {
    "action": gettext_lazy("操作"),
    "actor": gettext_lazy("操作人"),
    "answers": gettext_lazy("答题数"),
    "book": gettext_lazy("收据本"),
    "building": gettext_lazy("楼栋"),
    "channel": gettext_lazy("渠道"),
    "commitment": gettext_lazy("承诺值"),
    "consultant": gettext_lazy("置业顾问"),
    "customer": gettext_lazy("客户"),
    "date": gettext_lazy("日期"),
    "date_from": gettext_lazy("开始日期"),
    "date_to": gettext_lazy("结束日期"),
    "day": gettext_lazy("日期"),
    "deal": gettext_lazy("交易"),
    "decision": gettext_lazy("决定"),
    "deferral": gettext_lazy("延期付款"),
    "deliveries": gettext_lazy("交房户数"),
    "due_date": gettext_lazy("应付日期"),
    "entries_added": gettext_lazy("新增明细数"),
    "event": gettext_lazy("开盘活动"),
    "first_pricing": gettext_lazy("首次定价"),
    "generated_units": gettext_lazy("生成房间数"),
    "invitations": gettext_lazy("邀请数"),
    "digest": gettext_lazy("摘要"),
    "document": gettext_lazy("资料"),
    "done": gettext_lazy("已完成"),
    "end": gettext_lazy("结束日期"),
    "filters": gettext_lazy("筛选条件"),
    "format": gettext_lazy("格式"),
    "from": gettext_lazy("原"),
    "id": gettext_lazy("编号"),
    "ip": gettext_lazy("IP 地址"),
    "items": gettext_lazy("明细"),
    "kind": gettext_lazy("类别"),
    "note": gettext_lazy("备注"),
    "number": gettext_lazy("编号"),
    "period": gettext_lazy("期间"),
    "price_list": gettext_lazy("价格方案"),
    "price_list_version": gettext_lazy("价格方案版本"),
    "project": gettext_lazy("项目"),
    "q": gettext_lazy("搜索"),
    "reason": gettext_lazy("原因"),
    "report": gettext_lazy("报表"),
    "role": gettext_lazy("角色"),
    "rows": gettext_lazy("导出行数"),
    "source": gettext_lazy("来源"),
    "start": gettext_lazy("开始日期"),
    "status": gettext_lazy("状态"),
    "survey": gettext_lazy("调查"),
    "template": gettext_lazy("问卷"),
    "to": gettext_lazy("新"),
    "unit": gettext_lazy("房间"),
    "units": gettext_lazy("房间"),
    "user": gettext_lazy("用户"),
    "via": gettext_lazy("途径"),
}


# --- what apps register ---------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """What the trail needs to know about one model beyond its ``_meta``."""

    url: Callable | None = None  # obj -> its page (else ``get_absolute_url``)
    masked: dict = field(default_factory=dict)  # field name -> "phone" | "id_number"
    related: tuple = ()  # prefetched when its objects are named (``__str__`` reads them)


@dataclass(frozen=True)
class Export:
    """An export's ``what`` (a model label, or a prefix ending in "."): its title, and
    how its filters read: the FilterSet that served it (labels, choices, models),
    ``refs`` (filter -> the model label of the object its id names) and ``choices``
    (filter -> {value: label}, or a callable returning it) for filters it lacks."""

    title: Callable | str | None = None  # str, or what -> str
    filterset: type | None = None
    refs: dict = field(default_factory=dict)
    choices: dict = field(default_factory=dict)


_kinds: dict[str, Kind] = {}
_exports: dict[str, Export] = {}


def register(label: str, *, url=None, masked=None, related=()) -> None:
    """``label``: "app_label.model_name" as the trail stores it (``deals.deal``)."""
    _kinds[label.lower()] = Kind(url=url, masked=dict(masked or {}), related=tuple(related))


def register_export(what: str, *, title=None, filterset=None, refs=None, choices=None) -> None:
    _exports[what.lower()] = Export(
        title=title, filterset=filterset, refs=dict(refs or {}), choices=dict(choices or {})
    )


def _kind(label: str) -> Kind:
    return _kinds.get(label, Kind())


def _export(what: str) -> Export | None:
    what = (what or "").lower()
    if what in _exports:
        return _exports[what]
    for key, export in _exports.items():
        if key.endswith(".") and what.startswith(key):
            return export
    return None


def model_of(label: str):
    """The model an entry's ``object_type`` names, or None (a report, a removed model)."""
    if not label or label.count(".") != 1:
        return None
    try:
        return apps.get_model(label)
    except (LookupError, ValueError):
        return None


# --- what the pages draw --------------------------------------------------------------


@dataclass
class Value:
    """One value as shown: its text and, for an object, the link to its page."""

    text: str
    url: str = ""

    def __str__(self):
        return self.text


@dataclass
class Change:
    field: str  # the stored key (for machines: the API)
    label: str
    before: Value | None  # None: the entry holds one value for the field, not a pair
    after: Value

    def __str__(self):
        if self.before is None:
            return f"{self.label}: {self.after}"
        return f"{self.label}: {self.before} → {self.after}"


@dataclass
class Line:
    key: str
    label: str
    value: Value | None = None
    lines: list = field(default_factory=list)  # an export's filters: one Line each

    def __str__(self):
        if self.lines:
            return f"{self.label}: " + "; ".join(str(line) for line in self.lines)
        return f"{self.label}: {self.value}"


@dataclass
class Shown:
    """One entry as a person reads it."""

    entry: AuditEntry
    at: datetime.datetime
    action: str
    kind: str  # the model's verbose_name, an export's title, or the stored type
    object: Value | None
    changes: list[Change]
    extra: list[Line]

    @property
    def pk(self):
        return self.entry.pk

    @property
    def at_text(self) -> str:
        return self.at.strftime(TIME_FORMAT)

    @property
    def project_name(self) -> str:
        entry = self.entry
        project = entry.project if entry.project_id and "project" in _cached(entry) else None
        return str(project) if project is not None else ""

    def changes_text(self) -> str:
        return "\n".join(str(c) for c in self.changes)

    def extra_text(self) -> str:
        return "\n".join(str(line) for line in self.extra)


def _cached(entry) -> set:
    """The relations already loaded on ``entry`` (no query to show the project)."""
    return set(entry._state.fields_cache)


# --- reading the page's objects in one go ---------------------------------------------


class _Refs:
    """Objects to name, collected per model, then read with one query per model."""

    def __init__(self):
        self.wanted: dict = defaultdict(set)
        self.found: dict = {}

    def want(self, model, pk) -> None:
        key = self._key(model, pk)
        if key is not None:
            self.wanted[model].add(key)

    @staticmethod
    def _key(model, pk):
        if pk in (None, "") or isinstance(pk, bool | dict | list):
            return None
        try:
            return model._meta.pk.to_python(pk)
        except (ValidationError, TypeError, ValueError):
            return None

    def load(self) -> None:
        for model, pks in self.wanted.items():
            related = _kind(model._meta.label_lower).related
            qs = model._base_manager.filter(pk__in=pks)
            if related:
                qs = qs.prefetch_related(*related)
            self.found[model] = {obj.pk: obj for obj in qs}

    def get(self, model, pk):
        key = self._key(model, pk)
        return self.found.get(model, {}).get(key) if key is not None else None


# (the viewer, their answers by URL) while ``present`` runs: a link is drawn only to a
# page that opens for them (``core.pages.may_open``, the page's own guard)
_viewer: ContextVar[tuple | None] = ContextVar("loupan_audit_viewer", default=None)


def _url_of(obj) -> str:
    kind = _kind(obj._meta.label_lower)
    try:
        if kind.url is not None:
            url = kind.url(obj) or ""
        elif hasattr(obj, "get_absolute_url"):
            url = obj.get_absolute_url() or ""
        else:
            url = ""
    except (NoReverseMatch, AttributeError, TypeError, ValueError):
        return ""
    viewer = _viewer.get()
    if url and viewer is not None:
        user, answers, projects = viewer
        if url not in answers:
            answers[url] = _opens(user, url, projects)
        if not answers[url]:
            return ""
    return url


def _opens(user, url: str, projects: dict) -> bool:
    """``may_open`` with the viewer's projects read once for the page (one query)."""
    try:
        project_pk = resolve(url.split("?", 1)[0]).kwargs.get("project_pk")
    except Resolver404:
        return False
    if project_pk is None:
        return may_open(user, url)
    if not projects:
        projects.update(
            {p.pk: p for p in project_model().objects.restrict(user, "view")} or {0: None}
        )
    project = projects.get(project_pk)
    return project is not None and may_open(user, url, project)


def _ref(refs: _Refs, model, pk) -> Value:
    if refs._key(model, pk) is None:
        return Value(_plain(pk))  # not an id: a name the entry stored (extra's "deal")
    obj = refs.get(model, pk)
    if obj is None:
        return Value(f"#{pk}")  # removed since: the trail keeps only its id here
    return Value(str(obj), _url_of(obj))


# --- values ---------------------------------------------------------------------------


def _field(model, key: str):
    if model is None:
        return None
    try:
        f = model._meta.get_field(key)
    except FieldDoesNotExist:
        return None
    return f if getattr(f, "concrete", False) else None  # not a reverse relation


def _masked_kind(model, key: str, label: str) -> str:
    kinds = dict(getattr(model, "audit_masked_fields", {}) or {}) if model else {}
    kinds.update(_kind(label).masked)
    return kinds.get(key) or kinds.get(key.removesuffix("_id")) or ""


def _local(value: str) -> str:
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    if timezone.is_naive(moment):
        return moment.strftime(VALUE_TIME_FORMAT)
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime(VALUE_TIME_FORMAT)


def _plain(value) -> str:
    """A value of no known field: booleans, time stamps and structures made readable."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, str):
        return _local(value) if _ISO_DATETIME.match(value) else value
    if isinstance(value, dict | list):
        return json.dumps(_localized(value), ensure_ascii=False)
    return str(value)


def _localized(value):
    """A structure with its time stamps, at any depth, in local time."""
    if isinstance(value, dict):
        return {k: _localized(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_localized(v) for v in value]
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return _local(value)
    return value


def _is_money(f) -> bool:
    return isinstance(f, models.DecimalField) and f.max_digits == 14 and f.decimal_places == 2


def _text(f, value) -> str:
    """``value`` (as stored) of the model field ``f``, as a person reads it."""
    if value is None or value == "":
        return EMPTY
    if f.choices:
        labels = {str(k): v for k, v in f.flatchoices}
        if not isinstance(value, dict | list) and str(value) in labels:
            return str(labels[str(value)])
        return _plain(value)
    if isinstance(f, models.BooleanField):
        return _plain(bool(value)) if isinstance(value, bool | int) else _plain(value)
    if _is_money(f):
        try:
            return f"{Decimal(str(value)):,.2f}"
        except (InvalidOperation, ValueError):
            return _plain(value)
    if isinstance(f, models.DateTimeField) and isinstance(value, str):
        return _local(value)
    if isinstance(f, models.TimeField) and isinstance(value, str):
        return value[:5]
    return _plain(value)


class _Reader:
    """Presents values of one model's fields; FK targets are named from ``refs``."""

    def __init__(self, refs: _Refs):
        self.refs = refs

    def want(self, model, label, key, value) -> None:
        f = _field(model, key)
        if f is not None and (f.many_to_one or f.one_to_one) and f.related_model is not None:
            self.refs.want(f.related_model, value)

    def value(self, model, label, key, value) -> Value:
        mask = _masked_kind(model, key, label)
        if mask and isinstance(value, str) and value:
            return Value(mask_personal(mask, value))
        f = _field(model, key)
        if f is None:
            return Value(_plain(value))
        if (f.many_to_one or f.one_to_one) and f.related_model is not None:
            if value is None or value == "":
                return Value(EMPTY)
            return _ref(self.refs, f.related_model, value)
        return Value(_text(f, value))


def _label(model, key: str) -> str:
    f = _field(model, key)
    if f is not None and getattr(f, "verbose_name", None):
        return str(f.verbose_name)
    if key in COMMON_LABELS:
        return str(COMMON_LABELS[key])
    return key


def _pairs(changes) -> list:
    return list(changes.items()) if isinstance(changes, dict) else []


def _is_pair(values) -> bool:
    return isinstance(values, list | tuple) and len(values) == 2


# --- an export's filters --------------------------------------------------------------


class _Filters:
    """An export's filters (the query it was asked with) read through the FilterSet
    that served it, else through the exported model's fields."""

    def __init__(self, what: str, refs: _Refs):
        self.what = what
        self.refs = refs
        export = _export(what)
        self.export = export or Export()
        self.filters = getattr(export.filterset, "base_filters", {}) if export else {}
        self.model = model_of(what)
        if self.model is None and export and export.filterset is not None:
            self.model = getattr(export.filterset._meta, "model", None)

    def _target(self, key):
        """(model of the referenced object, or None; choices dict or None)."""
        if key in self.export.refs:
            return model_of(self.export.refs[key].lower()), None
        if key in self.export.choices:
            choices = self.export.choices[key]
            return None, {
                str(k): v for k, v in (choices() if callable(choices) else choices).items()
            }
        flt = self.filters.get(key)
        if flt is not None:
            choices = flt.extra.get("choices")
            if choices and not callable(choices):
                return None, {str(k): v for k, v in choices}
            queryset = flt.extra.get("queryset")
            if queryset is not None and hasattr(queryset, "model"):
                return queryset.model, None
            f = _field(self.model, flt.field_name)
        else:
            f = _field(self.model, key)
        if f is not None and (f.many_to_one or f.one_to_one):
            return f.related_model, None
        if f is not None and f.choices:
            return None, {str(k): v for k, v in f.flatchoices}
        return None, None

    def want(self, filters) -> None:
        for key, value in _pairs(filters):
            model, _choices = self._target(key)
            if model is not None:
                self.refs.want(model, value)

    def label(self, key) -> str:
        flt = self.filters.get(key)
        if flt is not None and flt.label:
            return str(flt.label)
        return _label(self.model, key)

    def value(self, key, value) -> Value:
        if key == "object_type" and isinstance(value, str) and model_of(value.lower()):
            return Value(kind_label(value.lower()))
        model, choices = self._target(key)
        if model is not None:
            return _ref(self.refs, model, value)
        if choices and str(value) in choices:
            return Value(str(choices[str(value)]))
        if isinstance(value, str):
            return Value(mask_personal_text(_plain(value)))
        return Value(_plain(value))

    def lines(self, filters) -> list[Line]:
        return [
            Line(key, self.label(key), self.value(key, value)) for key, value in _pairs(filters)
        ]


# --- the presenter --------------------------------------------------------------------


def kind_label(object_type: str) -> str:
    """What kind of thing ``object_type`` is, in words: the model's verbose_name, an
    export's registered title, else the stored code."""
    export = _export(object_type)
    if export is not None and export.title:
        title = export.title(object_type) if callable(export.title) else export.title
        if title:
            return str(title)
    model = model_of(object_type)
    if model is not None:
        return str(model._meta.verbose_name)
    return object_type


def present(entries: Iterable[AuditEntry], user) -> list[Shown]:
    """``entries`` as ``user`` may read them, with their objects and the objects their
    values name read in one query per model for all of them."""
    entries = [entry.hide_for(user) for entry in entries]
    refs = _Refs()
    reader = _Reader(refs)
    filter_readers = {}
    # 1. what to read
    for entry in entries:
        label = entry.object_type.lower()
        model = model_of(label)
        if model is not None and entry.object_id and entry.action != AuditAction.EXPORT:
            refs.want(model, entry.object_id)
        for key, values in _pairs(entry.changes):
            for value in values if _is_pair(values) else [values]:
                reader.want(model, label, key, value)
        for key, value in _pairs(entry.extra):
            if key == "filters" and entry.action == AuditAction.EXPORT:
                filters = filter_readers.setdefault(label, _Filters(label, refs))
                filters.want(value)
            elif not isinstance(value, dict | list):
                reader.want(model, label, key, value)
    # 2. one query per model
    refs.load()
    # 3. the rows, linked where the viewer may go
    token = _viewer.set((user, {}, {}))
    try:
        return [_shown(entry, refs, reader, filter_readers) for entry in entries]
    finally:
        _viewer.reset(token)


def _shown(entry, refs, reader, filter_readers) -> Shown:
    label = entry.object_type.lower()
    model = model_of(label)
    obj = None
    if entry.action == AuditAction.EXPORT:
        name = None
    else:
        found = refs.get(model, entry.object_id) if model is not None else None
        stored = entry.object_repr or (f"#{entry.object_id}" if entry.object_id else "")
        if found is not None:
            obj = Value(entry.object_repr or str(found), _url_of(found))
        elif stored:
            obj = Value(stored)
        name = obj
    changes = []
    for key, values in _pairs(entry.changes):
        if _is_pair(values):
            before = reader.value(model, label, key, values[0])
            after = reader.value(model, label, key, values[1])
        else:
            before, after = None, reader.value(model, label, key, values)
        changes.append(Change(key, _label(model, key), before, after))
    extra = []
    for key, value in _pairs(entry.extra):
        if key == "filters" and entry.action == AuditAction.EXPORT:
            lines = filter_readers[label].lines(value)
            extra.append(Line(key, _label(None, key), None, lines))
            continue
        extra.append(Line(key, _label(model, key), reader.value(model, label, key, value)))
    return Shown(
        entry=entry,
        at=timezone.localtime(entry.created_at, timezone.get_default_timezone()),
        action=str(entry.get_action_display()),
        kind=kind_label(label) if label else "",
        object=name,
        changes=changes,
        extra=extra,
    )
