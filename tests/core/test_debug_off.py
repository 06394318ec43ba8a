"""Django's debug pages only when asked for (issue 12): without LOUPAN_DEBUG the URL list
and the tracebacks stay hidden behind the application's Chinese error pages, the demo
included, and the stylesheets are still served."""

import os
import subprocess
import sys

import pytest

from tests.testing import web_client


def _debug_with(**env) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("LOUPAN_DEBUG", "DEBUG")}
    environ.update(env, DJANGO_SETTINGS_MODULE="loupan.settings")
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.mark.parametrize(
    "env,debug",
    [({}, "False"), ({"DEBUG": "1"}, "False"), ({"LOUPAN_DEBUG": "1"}, "True")],
)
def test_debug_only_when_asked_for(env, debug):
    assert _debug_with(**env) == debug


def test_an_unknown_page_is_the_chinese_404_in_the_layout(demo):
    client = web_client(demo["users"]["consultant"])
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html and 'id="nav-customers"' in html
    assert "URLconf" not in html and "Traceback" not in html


def test_the_stylesheets_are_served_without_debug(settings):
    assert settings.DEBUG is False
    response = web_client().get("/static/loupan/loupan.css")
    assert response.status_code == 200


def test_a_refused_page_is_the_chinese_403_in_the_layout(demo):
    client = web_client(demo["users"]["consultant"])
    response = client.get(f"/projects/{demo['main'].pk}/edit/")  # a member, not the admin
    assert response.status_code == 403
    html = response.content.decode()
    assert "没有执行此操作的权限" in html and 'id="nav-customers"' in html
    assert "Traceback" not in html and "PermissionDenied" not in html


def test_a_crash_is_the_chinese_500_without_a_traceback(demo, settings):
    """A failing page answers the plain Chinese 500 page (no layout: the layout itself
    may be what failed), an API path the error shape; neither shows the traceback."""
    from django.test import Client

    settings.ROOT_URLCONF = "tests.core.crash_urls"
    client = Client(raise_request_exception=False)
    page = client.get("/crash/")
    assert page.status_code == 500
    html = page.content.decode()
    assert "服务器内部错误" in html and "boom" not in html and "Traceback" not in html
    api = client.get("/api/v1/crash/")
    assert api.status_code == 500 and api.json()["code"] == "server_error"
    assert "boom" not in api.content.decode()
