import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.messages.storage import default_storage
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from loupan.core.scope import visible_projects

from .models import Membership

# Pages that stay reachable while a password change is pending or without login.
_OPEN_PREFIXES = (
    "/static/",
    "/healthz",
    "/accounts/login",
    "/accounts/logout",
    "/accounts/password",
    "/accounts/language",
    "/api/",
    "/i18n/",
)


def _redirect(request, url):
    # The header itself: django-htmx's middleware (request.htmx) runs after these ones.
    if request.headers.get("HX-Request") == "true":
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(url)
    return redirect(url)


# A GET records the user's activity in this signed cookie, bound to the session, instead
# of saving the session: a read writes nothing, and it is not held up by a write lock
# (on SQLite a large import's commit holds the one write lock for its whole transaction).
ACTIVITY_COOKIE = "loupan_activity"
# The stamp is refreshed at most this often (seconds), not on every request.
ACTIVITY_EVERY = 60


def _activity_salt(request) -> str:
    return f"loupan.activity:{request.session.session_key}"


def last_activity(request) -> int | None:
    """When the session was last active: the later of the session's stamp (written by
    the requests that write anyway) and the activity cookie of this same session."""
    stamps = [request.session.get("last_activity")]
    if request.session.session_key:
        stamps.append(
            request.get_signed_cookie(ACTIVITY_COOKIE, default=None, salt=_activity_salt(request))
        )
    stamps = [int(s) for s in stamps if s is not None and str(s).isdigit()]
    return max(stamps) if stamps else None


class IdleTimeoutMiddleware:
    """Ends a web session after LOUPAN_IDLE_TIMEOUT_MINUTES without a request (seed 004).

    Every request counts as activity; the stamp is refreshed at most once a minute, by a
    POST (or any unsafe method) in the session, by a GET in a signed cookie, so that
    a GET never saves the session."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refresh = None
        if request.user.is_authenticated and "_auth_user_id" in request.session:
            now = int(time.time())
            last = last_activity(request)
            timeout = settings.LOUPAN_IDLE_TIMEOUT_MINUTES * 60
            if last is not None and timeout and now - last > timeout:
                language = request.user.language
                logout(request)
                # MessageMiddleware (and the user's language) come after this middleware:
                # store the notice for the login page directly, in the user's language.
                storage = default_storage(request)
                with translation.override(language):
                    storage.add(
                        messages.WARNING,
                        _("您长时间未操作，已自动退出，请重新登录。"),
                    )
                response = _redirect(request, reverse("accounts:login"))
                storage.update(response)
                response.delete_cookie(ACTIVITY_COOKIE)
                return response
            if last is None or now - last >= ACTIVITY_EVERY:
                if request.method in ("GET", "HEAD", "OPTIONS"):
                    refresh = now
                else:
                    request.session["last_activity"] = now
        response = self.get_response(request)
        # (a view that logged out has no session key any more: nothing to refresh)
        if refresh is not None and request.session.session_key:
            response.set_signed_cookie(
                ACTIVITY_COOKIE,
                refresh,
                salt=_activity_salt(request),
                max_age=settings.SESSION_COOKIE_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
        return response


class UserLanguageMiddleware:
    """The interface speaks the language the user chose, Chinese by default.

    Unlike Django's LocaleMiddleware the browser's Accept-Language is ignored: an office
    PC with an English browser still shows Chinese until the user switches. Before login
    the language cookie (set when a user switches) decides.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        supported = dict(settings.LANGUAGES)
        if user.is_authenticated and user.language in supported:
            language = user.language
        else:
            language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, settings.LANGUAGE_CODE)
            if language not in supported:
                language = settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        # for this request only: a worker's thread goes back to its language afterwards
        # (the next request, a due job or a test on that thread is not left in English)
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class PasswordChangeRequiredMiddleware:
    """First login and expired passwords lead to the password change page only."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and user.needs_password_change()
        ):
            return _redirect(request, reverse("accounts:password_change"))
        return self.get_response(request)


class CurrentProjectMiddleware:
    """``request.project``: the project the user works in now, always one the user
    belongs to: the project the page's address names (``/projects/<project_pk>/…``), so
    that the switcher never shows another project than the page's; elsewhere the one
    kept in the session (switched with the project switcher)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.projects = SimpleLazyObject(lambda: _user_projects(request))
        request.project = SimpleLazyObject(lambda: _current_project(request))
        return self.get_response(request)


def _user_projects(request):
    if not request.user.is_authenticated:
        return []
    return list(visible_projects(request.user).select_related("company").filter(is_active=True))


def _current_project(request):
    projects = request.projects
    if not projects:
        return None
    # read lazily, once the address is resolved (after this middleware's call)
    match = getattr(request, "resolver_match", None)
    named = match.kwargs.get("project_pk") if match is not None else None
    wanted = named if isinstance(named, int) else request.session.get("project_id")
    if wanted is None and len(projects) > 1:
        # No choice yet: the project the user was first given a role in (their main
        # one), not the first by name (finance opened on the other project).
        wanted = (
            Membership.objects.filter(user=request.user, project__in=[p.pk for p in projects])
            .order_by("pk")
            .values_list("project_id", flat=True)
            .first()
        )
    for project in projects:
        if project.pk == wanted:
            return project
    return projects[0]
