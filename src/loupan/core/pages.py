"""The one page layer of the project-scoped pages: one guard, one action runner, one list
view, so that a new page is a few lines and no view restates a rule.

* ``project_page(*see, act=None, when=None)`` resolves ``project_pk`` of the URL: a
  project the user does not belong to, or a part of it they may not see (none of
  ``see``, or the page's own rule ``when`` says no), is a 404 everywhere; an action they
  may not take (``act``) is a 403. The view gets the project. ``site_page`` is the same
  for the pages outside a project (users, roles, the audit trail), on any project.
* The guard a decorator builds stays on the view (``guard_of(view)``): the navigation
  (``core.navigation``) and the links that may be refused (``may_open``, the template
  tag ``url_if_allowed``) ask the very guard the page runs, so a link is shown iff the
  page would open, and no rule is written twice.
* ``run_action(request, call, …)`` runs one service call: success → its message; a
  refusal → a 403 page for a missing permission, else the reason next to the form's
  field (or as a message when there is no form).
* ``id_query(request, name)``: a query parameter that names an object by its id; one
  that cannot be an id is a 400 page naming the parameter, never a query.
* ``ProjectListView``: the restricted queryset → the shared FilterSet → xlsx export (for
  those who may) or pagination → the template.

The project model is named by ``settings.LOUPAN_PROJECT_MODEL`` (as ``AUTH_USER_MODEL``):
core names no app.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponseNotAllowed, QueryDict
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve
from django.views import View

from . import xlsx
from .errors import DomainError, ErrorCode, invalid
from .params import check_id_filters, id_value
from .ports import access
from .scope import project_model
from .views import form_error, paginate, query_without_page, refused


def id_query(request, name: str):
    """The id in the query parameter ``name`` (None when absent or empty); anything else
    (``abc``, ``null``, ``-1``) is a bad request (400) naming the parameter."""
    try:
        return id_value(request.GET.get(name), name)
    except DomainError as exc:
        raise BadRequest(str(exc.message)) from exc


def project_for(user, project_pk, *see):
    """The project ``project_pk`` if ``user`` belongs to it and holds one of ``see``
    there (any membership when ``see`` is empty); a 404 otherwise, a malformed id too."""
    try:
        pk = int(project_pk)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    project = project_model().objects.restrict(user, "view").filter(pk=pk).first()
    if project is None:
        raise Http404
    if see and not any(access.has_perm(user, code, project) for code in see):
        raise Http404
    return project


def require(user, project, *codes: str) -> None:
    """A 403 page naming the (first) permission, unless ``user`` holds one of ``codes``
    on ``project``."""
    if not any(access.has_perm(user, code, project) for code in codes):
        label = access.label(codes[0])
        raise PermissionDenied(f"{DomainError('permission_denied').message}：{label}")


def _codes(codes) -> tuple[str, ...]:
    if not codes:
        return ()
    return (codes,) if isinstance(codes, str) else tuple(codes)


class Guard:
    """What a page asks before it opens, in this order: one of ``see`` (else a 404, as
    for what the user may not know of), the page's own rule ``when(user, project,
    **url_kwargs)`` (else a 404), one of ``act`` (else a 403 naming it). ``project`` is
    None for a page outside a project: the codes are then held on any project."""

    def __init__(self, see=(), act=(), when=None, *, in_project: bool = True):
        self.see = _codes(see)
        self.act = _codes(act)
        self.when = when
        self.in_project = in_project

    def check(self, user, project=None, **kwargs) -> None:
        scope = project if self.in_project else None
        if self.see and not any(access.has_perm(user, code, scope) for code in self.see):
            raise Http404
        if self.when is not None and not self.when(user, project, **kwargs):
            raise Http404
        if self.act:
            require(user, scope, *self.act)

    def allows(self, user, project=None, **kwargs) -> bool:
        """The same check as an answer: would the page open for ``user``?"""
        if user is None or not user.is_authenticated:
            return False
        if self.in_project and project is None:
            return False
        try:
            self.check(user, project, **kwargs)
        except (Http404, PermissionDenied):
            return False
        return True


def project_page(*see: str, act: str | tuple[str, ...] | None = None, when=None):
    """Decorate a view ``view(request, project, …)`` reached by ``…/<project_pk>/…``;
    ``act``: the permission (or one of the permissions) the page needs, else a 403;
    ``when(user, project, **url_kwargs)``: the page's own rule, else a 404."""
    guard = Guard(see, act, when)

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, project_pk, *args, **kwargs):
            project = project_for(request.user, project_pk)
            guard.check(request.user, project, **kwargs)
            return view(request, project, *args, **kwargs)

        wrapper.guard = guard
        return wrapper

    return decorate


def site_page(*see: str, act: str | tuple[str, ...] | None = None, when=None):
    """Decorate a signed-in page outside a project (users, roles, the audit trail):
    ``see`` and ``act`` are held on any project; ``when(user, None, **url_kwargs)``."""
    guard = Guard(see, act, when, in_project=False)

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            guard.check(request.user, None, **kwargs)
            return view(request, *args, **kwargs)

        wrapper.guard = guard
        return wrapper

    return decorate


def guard_of(view) -> Guard | None:
    """The guard a page runs (``project_page``, ``site_page``, a ``ProjectListView``);
    None for a view that declares none."""
    guard = getattr(view, "guard", None)
    if guard is not None:
        return guard
    view_class = getattr(view, "view_class", None)
    if view_class is not None and hasattr(view_class, "page_guard"):
        return view_class.page_guard()
    return None


def may_open(user, url: str, project=None) -> bool:
    """Would the page at ``url`` (a path of this site) open for ``user``? Asks the page's
    own guard with the URL's arguments; ``project``, when it is the one the URL names,
    saves looking it up. A view without a guard answers True (it guards itself)."""
    try:
        match = resolve(url.split("?", 1)[0])
    except Resolver404:
        return False
    guard = guard_of(match.func)
    if guard is None:
        return True
    kwargs = dict(match.kwargs)
    project_pk = kwargs.pop("project_pk", None)
    if project_pk is not None and not (
        isinstance(project, project_model()) and project.pk == project_pk
    ):
        try:
            project = project_for(user, project_pk)
        except Http404:
            return False
    return guard.allows(user, project, **kwargs)


def run_action(request, call, *, success="", form=None):
    """Run one service call for a page. Returns ``(True, result)`` after putting the
    success message (``success`` may be a function of the result), or ``(False, None)``
    with the refusal shown: a permission refusal is a 403 page, any other goes next to
    the form's field (``form``) or on top of the page as a message."""
    try:
        result = call()
    except DomainError as exc:
        refused(exc)
        if form is not None:
            form_error(form, exc)
        else:
            messages.error(request, exc.message)
        return False, None
    text = success(result) if callable(success) else success
    if text:
        messages.success(request, text)
    return True, result


def xlsx_download(request, project, report: str, make):
    """An audited export as a download named after ``report``: ``make()`` writes the
    workbook and refuses whoever may not take the list away (back to the list, with
    the reason)."""
    ok, content = run_action(request, make)
    if not ok:
        return redirect(request.path)
    return xlsx.xlsx_response(content, xlsx.export_filename(project, report))


def wants_xlsx(request) -> bool:
    """An export: a POST (it writes its audit entry, and a GET writes nothing) to the
    list's URL with its filters and ``format=xlsx`` in the query string."""
    return request.method == "POST" and request.GET.get("format") == "xlsx"


def used_filters(request) -> dict:
    """The filters a list was asked with (what an export records in the audit trail)."""
    return filters_used(request.GET)


def filters_used(params) -> dict:
    """``used_filters`` of a query string (a ``QueryDict``, or ``query_of``'s)."""
    return {k: v for k, v in params.items() if k not in ("format", "page") and v}


def query_of(filters: dict) -> QueryDict:
    """A list's filters as stored with an export request (a value or a list of values
    per filter) as the query string its page reads."""
    params = QueryDict(mutable=True)
    for key, value in (filters or {}).items():
        params.setlist(key, value if isinstance(value, list) else [value])
    return params


def refuse_invalid(form) -> None:
    """A bound form or FilterSet with an error: refused naming its first field (400)."""
    if form.is_bound and not form.is_valid():
        name, reasons = next(iter(form.errors.items()))
        raise invalid(name, str(reasons[0]))


class ProjectListView(View):
    """A project's list page and its xlsx: subclasses name the permissions that show
    it (``see``), the FilterSet, the template, and implement ``get_queryset`` (start from
    ``Model.objects.restrict(user, "view")``); ``export`` (optional) answers the xlsx for
    those who may (it checks and audits, see ``core.xlsx.export_audited``) to a POST with
    ``?format=xlsx`` and the list's filters; a list without one answers only GET."""

    see: tuple[str, ...] = ()
    act: tuple[str, ...] = ()
    when = None  # the page's own rule: staticmethod(f), f(user, project) -> bool, else 404
    filterset_class = None
    template_name = ""
    ordering: tuple[str, ...] = ("-pk",)
    per_page = 50

    @classmethod
    def page_guard(cls) -> Guard:
        return Guard(cls.see, cls.act, cls.when)

    def dispatch(self, request, project_pk, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.project = project_for(request.user, project_pk)
        self.page_guard().check(request.user, self.project)
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        raise NotImplementedError

    def get_filterset(self, queryset):
        return self.filterset_class(self.request.GET or None, queryset=queryset)

    def get_context_data(self, **context):
        return context

    export = None
    # or, simpler: the part's audited export, ``f(actor=, project=, queryset=, filters=)``
    # (a staticmethod), and the file's name
    export_function = None
    export_report = ""

    def export_content(self, queryset) -> bytes:
        """The bytes of this list's xlsx (what its export downloads; ``list_builder``)."""
        if self.export_function is None:
            raise NotImplementedError
        return self.export_function(
            actor=self.request.user,
            project=self.project,
            queryset=queryset,
            filters=used_filters(self.request),
        )

    def export_list(self, queryset, report: str, export):
        """This list as ``report``'s download: ``export(actor=, project=, queryset=,
        filters=)`` is the part's audited export."""
        return xlsx_download(
            self.request,
            self.project,
            report,
            lambda: export(
                actor=self.request.user,
                project=self.project,
                queryset=queryset,
                filters=used_filters(self.request),
            ),
        )

    def _queryset(self):
        filterset = self.get_filterset(self.get_queryset())
        try:
            check_id_filters(filterset, self.request.GET)
        except DomainError as exc:
            raise BadRequest(str(exc.message)) from exc
        qs = (filterset.qs if filterset.is_bound else filterset.queryset).order_by(*self.ordering)
        return filterset, qs

    def post(self, request, *args, **kwargs):
        if (self.export is None and self.export_function is None) or not wants_xlsx(request):
            return HttpResponseNotAllowed(["GET"])
        if self.export is None:
            return self.export_list(self._queryset()[1], self.export_report, self.export_function)
        return self.export(self._queryset()[1])

    def get(self, request, *args, **kwargs):
        filterset, qs = self._queryset()
        context = self.get_context_data(
            project=self.project,
            filter=filterset,
            form=filterset.form,
            page=paginate(request, qs, self.per_page),
            query=query_without_page(request),
        )
        return render(request, self.template_name, context)


def _offline_list(view_class, actor, project, filters: dict):
    """The list page ``view_class`` as ``actor`` would open it with ``filters`` (a dict,
    a value or a list of values per filter), outside a request."""
    if not view_class.page_guard().allows(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED)
    params = query_of(filters)
    request = HttpRequest()
    request.method = "GET"
    request.user = actor
    request.GET = params
    view = view_class()
    view.setup(request, project_pk=project.pk)
    view.project = project
    return view


def list_builder(view_class):
    """What an exportable list registers (``customers.exports.register_list``) for a list
    page with ``export_content``: ``build`` writes its xlsx for a user and the list's
    filters as the page would (an approved export request's download), ``clean``
    checks the filters when the request is made."""

    def clean(*, actor, project, filters: dict) -> dict:
        view = _offline_list(view_class, actor, project, filters)
        filterset = view.get_filterset(view.get_queryset())
        check_id_filters(filterset, view.request.GET)
        refuse_invalid(filterset)
        return filters

    def build(*, actor, project, filters: dict, export=None):
        view = _offline_list(view_class, actor, project, filters)
        filterset = view.get_filterset(view.get_queryset())
        qs = (filterset.qs if filterset.is_bound else filterset.queryset).order_by(*view.ordering)
        return view.export_content(qs)

    return build, clean


def query_builder(content, check=None):
    """What an exportable list registers when its page is not a ``ProjectListView``: the
    page's own export function ``content(*, actor, project, params)`` (``params``: the
    list's query string) builds the file, and ``check(*, actor, project, params)``
    (optional) refuses filters the page would not take when the request is made."""

    def clean(*, actor, project, filters: dict) -> dict:
        if check is not None:
            check(actor=actor, project=project, params=query_of(filters))
        return filters

    def build(*, actor, project, filters: dict, export=None):
        return content(actor=actor, project=project, params=query_of(filters))

    return build, clean
