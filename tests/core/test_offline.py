"""No internet: sales offices run on closed networks, so no page may load a script, style,
font or image from outside the server (ENGINEERING.md: never a CDN).

Two checks: every template the pages render is read for external URLs, and every UI page
of the URL conf (plus the API docs) is fetched as each demo role, refused to contain an
external asset, and every /static/ file it names must exist and be served.
"""

import re
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template import engines
from django.template.loader import get_template
from django.template.utils import get_app_template_dirs
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from loupan.accounts.models import User
from loupan.core.demo import DEMO_USERNAMES

ROLES = DEMO_USERNAMES
API_PAGES = ["/api/docs/", "/api/redoc/", "/api/schema/"]

# --- finding external assets ----------------------------------------------------------

_EXTERNAL = r"""["']?\s*(?:https?:)?//"""
_ASSET_PATTERNS = [
    # <script src>, <img src|srcset>, <iframe src>, <source>, <embed>, <video>, <audio>, <object data>
    re.compile(
        r"<(?:script|img|iframe|source|embed|video|audio|track|object)\b[^>]*?\s"
        r"(?:src|srcset|data|poster)\s*=\s*" + _EXTERNAL,
        re.I | re.S,
    ),
    # <link href> of any rel: stylesheet, icon, preconnect, preload, …
    re.compile(r"<link\b[^>]*?\shref\s*=\s*" + _EXTERNAL, re.I | re.S),
    # CSS: @import "…", @import url(…), url(…) (also inside @font-face)
    re.compile(r"@import\s+(?:url\(\s*)?" + _EXTERNAL, re.I),
    re.compile(r"url\(\s*" + _EXTERNAL, re.I),
]
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.I | re.S)


def external_assets(text: str) -> list[str]:
    """The places in an HTML page or template that would load something from outside."""
    found = []
    for pattern in _ASSET_PATTERNS:
        found += [m.group(0)[:160] for m in pattern.finditer(text)]
    for block in _FONT_FACE.findall(text):
        if re.search(r"(?:https?:)?//", block):
            found.append(block[:160])
    return found


_STATIC_REF = re.compile(
    r"""(?:\s(?:src|href|srcset)\s*=\s*["']?|url\(\s*["']?)(/static/[^"'\s)>?#]+)""", re.I
)


def static_refs(text: str) -> set[str]:
    return set(_STATIC_REF.findall(text))


@pytest.mark.parametrize(
    "html",
    [
        '<script src="https://cdn.example.com/htmx.js"></script>',
        "<script defer src='http://cdn.example.com/x.js'></script>",
        '<script src="//cdn.example.com/x.js"></script>',
        '<link rel="stylesheet" href="https://cdn.example.com/b.css">',
        '<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>',
        '<link\n  href="https://fonts.googleapis.com/css2?family=Roboto" rel="stylesheet">',
        '<img alt="" src="https://example.com/logo.png">',
        "<style>@import url('https://fonts.googleapis.com/css');</style>",
        '<style>@import "https://example.com/a.css";</style>',
        '<div style="background: url(https://example.com/bg.png)"></div>',
        "<style>@font-face { font-family: X; src: url(//fonts.example.com/x.woff2); }</style>",
    ],
)
def test_detector_finds_external_assets(html):
    assert external_assets(html)


@pytest.mark.parametrize(
    "html",
    [
        '<script src="/static/bootstrap/js/bootstrap.bundle.min.js"></script>',
        '<link rel="stylesheet" href="{% static \'loupan/loupan.css\' %}">',
        '<a href="https://www.mohurd.gov.cn/">住建部</a>',  # a link to click, not an asset
        "<style>.x { background: url(/static/loupan/x.svg); }</style>",
        '<img src="data:image/png;base64,AAAA">',
        "<p>see https://example.com for details</p>",
    ],
)
def test_detector_leaves_local_assets_alone(html):
    assert external_assets(html) == []


def test_static_refs_are_collected():
    html = (
        '<link rel="stylesheet" href="/static/a/b.css?v=1"><script src="/static/c.js"></script>'
        "<style>.x{background:url('/static/d.svg')}</style>"
    )
    assert static_refs(html) == {"/static/a/b.css", "/static/c.js", "/static/d.svg"}


# --- (a) the templates ----------------------------------------------------------------

# Installed apps whose templates our pages render: the API docs, the browsable API,
# form rendering and the filter forms.
TEMPLATE_APPS = ["drf_spectacular", "rest_framework", "django_bootstrap5", "django_filters"]


def _template_files():
    """Every template of ours and of the apps above, as the loader would pick it (one of
    ours shadows an app's template of the same name)."""
    roots = [Path(settings.PACKAGE_DIR) / "templates"]
    for label in TEMPLATE_APPS:
        roots.append(Path(apps.get_app_config(label).path) / "templates")
    names = set()
    for root in roots:
        if root.is_dir():
            names |= {
                p.relative_to(root).as_posix()
                for p in root.rglob("*")
                if p.is_file() and p.suffix in {".html", ".js", ".css", ".txt", ".xml"}
            }
    assert names
    # The loaders' order: our directory (DIRS), then each app's in INSTALLED_APPS order.
    search = [Path(d) for d in engines["django"].engine.dirs]
    search += [Path(d) for d in get_app_template_dirs("templates")]
    files = {}
    for name in sorted(names):
        files[name] = next(d / name for d in search if (d / name).is_file())
    return files


def test_our_templates_are_scanned():
    files = _template_files()
    assert "base.html" in files
    assert "audit/audit_list.html" in files
    assert "drf_spectacular/redoc.html" in files
    assert "drf_spectacular/swagger_ui.html" in files


def test_no_template_loads_from_the_internet():
    offenders = {}
    for name, path in _template_files().items():
        found = external_assets(path.read_text(encoding="utf-8"))
        if found:
            offenders[name] = (str(path), found)
    assert offenders == {}


def test_template_dirs_setting_still_shadows_apps():
    """Our overrides (e.g. drf_spectacular/redoc.html) work only while our directory comes
    before the apps' directories."""
    engine = engines["django"]
    assert engine.dirs[0] == Path(settings.PACKAGE_DIR) / "templates"
    origin = get_template("drf_spectacular/redoc.html").origin.name
    assert str(origin).startswith(str(Path(settings.PACKAGE_DIR) / "templates"))


# --- (b) the pages --------------------------------------------------------------------

_PARAM = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")


def _ui_routes():
    """``(route, name)`` for every page of the URL conf but the REST API itself."""

    def walk(resolver, prefix=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                yield from walk(p, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern), p.name

    routes = [(route, name) for route, name in walk(get_resolver()) if not route.startswith("api/")]
    assert all(not route.startswith("^") for route, _ in routes), "regex routes need a filler"
    return routes


def _model_for(segment: str):
    """The model a URL segment such as ``units``, ``permits`` or ``release-plans`` names."""
    aliases = {
        "roster": "rosterentry",
        "calls": "callrecord",
        "claims": "ownershipclaim",
        "commissions": "commissionstatement",
        "books": "receiptbook",
        "owners": "deal",
        "batches": "deliverybatch",
        "deliveries": "delivery",
        "repairs": "repairorder",
        "categories": "complaintcategory",
        "templates": "surveytemplate",
        "questions": "surveyquestion",
        "open": "deal",
        "compute": "deal",
        "opening": "openingevent",
    }
    wanted = aliases.get(segment) or segment.replace("-", "").replace("_", "").lower().removesuffix(
        "s"
    )
    models = [m for m in apps.get_models() if m.__module__.startswith("loupan.")]
    models.append(User)
    for model in models:
        if model._meta.model_name == wanted:
            return model
    for model in models:
        if model._meta.model_name.endswith(wanted):
            return model
    return None


def _fill(route: str, demo) -> str:
    """The route with real ids of the demo's main project (its first unit, building …)."""
    main = demo["main"]
    parts = route.split("/")
    out = []
    for index, part in enumerate(parts):
        match = _PARAM.fullmatch(part)
        if not match:
            out.append(part)
            continue
        conv, name = match.group("conv") or "str", match.group("name")
        if conv == "uuid":
            out.append(str(uuid.uuid4()))
        elif conv == "slug" and name == "code":
            out.append("consultant")  # a role code
        elif conv == "slug" and name == "report":
            out.append("daily")  # a report of the catalogue
        elif conv == "slug" and name == "step":
            out.append("open")  # an opening event's step (POST only)
        elif conv == "str":
            out.append("hold")  # an action name: those views answer POST only
        elif name == "project_pk" or (name == "pk" and parts[index - 1] == "projects"):
            out.append(str(main.pk))
        else:
            segment = name.removesuffix("_pk") if name != "pk" else parts[index - 1]
            model = _model_for(segment)
            assert model is not None, f"no model for {segment!r} in {route}"
            qs = model._base_manager.order_by("pk")
            if model is User:
                qs = qs.filter(username="consultant")
            elif any(f.name == "project" for f in model._meta.fields):
                qs = qs.filter(project=main)
            obj = qs.first()
            out.append(str(obj.pk if obj is not None else 0))
    return "/" + "/".join(out)


@pytest.fixture
def static_client(settings):
    """A client whose whitenoise serves the static files straight from the finders, as
    ``runserver`` does (the test run has no collectstatic)."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    return Client()


def test_every_page_as_every_role_is_offline(demo, static_client):
    routes = _ui_routes()
    urls = [(_fill(route, demo), name) for route, name in routes]
    urls += [(url, url) for url in API_PAGES]
    statuses = {}
    offenders = []
    statics = set()
    for role in ROLES:
        client = Client()
        client.force_login(User.objects.get(username=role))
        for url, name in urls:
            response = client.get(url)
            status = response.status_code
            assert status < 500, f"{role} GET {url} → {status}"
            # the public survey link with a made-up token answers its refusal page (400)
            allowed = (200, 302, 403, 404, 405) + ((400,) if url.startswith("/survey/") else ())
            assert status in allowed, f"{role} GET {url} → {status}"
            statuses.setdefault(name, set()).add(status)
            content_type = response.get("Content-Type", "")
            if status == 200 and content_type.startswith("text/html"):
                html = response.content.decode()
                offenders += [(role, url, found) for found in external_assets(html)]
                statics |= static_refs(html)
    assert offenders == []

    # The walk reached the pages, not only refusals: the main pages open for someone.
    for name in [
        "home",
        "project_list",
        "project_detail",
        "audit_list",
        "user_list",
        "role_list",
        "role_detail",
        "project_history",
        "user_history",
        "board",
        "unit_list",
        "unit_detail",
        "/api/docs/",
        "/api/redoc/",
        "/api/schema/",
    ]:
        if name in statuses:
            assert 200 in statuses[name], f"{name}: {statuses[name]}"
    assert {"/api/docs/", "/api/redoc/", "/api/schema/"} <= set(statuses)

    # Every local file the pages name exists and is served.
    assert "/static/bootstrap/css/bootstrap.min.css" in statics
    assert any("swagger-ui" in s for s in statics)
    assert any("redoc" in s for s in statics)
    missing = [s for s in sorted(statics) if not finders.find(s.removeprefix("/static/"))]
    assert missing == []
    for url in sorted(statics):
        response = static_client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert body, url


def test_swagger_ui_loads_its_files_from_static(login):
    client = login("sysadmin")
    html = client.get("/api/docs/").content.decode()
    assert external_assets(html) == []
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert scripts
    assert all(src.startswith("/static/drf_spectacular_sidecar/") for src in scripts)
    assert 'href="/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"' in html
    # The schema it loads comes from this server too.
    assert '"/api/schema/"' in html


def test_redoc_loads_no_web_fonts(login):
    html = login("sysadmin").get("/api/redoc/").content.decode()
    assert "fonts.googleapis.com" not in html
    assert "fonts.gstatic.com" not in html
    assert external_assets(html) == []
    assert re.search(r'<script src="/static/drf_spectacular_sidecar/redoc/[^"]+"', html)
    assert "Redoc.init" in html or "<redoc " in html


def test_login_page_is_offline(client, demo):
    html = client.get("/accounts/login/").content.decode()
    assert external_assets(html) == []
    assert "/static/bootstrap/css/bootstrap.min.css" in static_refs(html)
