"""Template hygiene a browser would not complain about: a page's title block holds text,
never markup (a script that slipped into the buyer's page title showed as its title)."""

import re
from pathlib import Path

import loupan

TEMPLATES = Path(loupan.__file__).parent / "templates"


def test_title_blocks_hold_text_only():
    bad = []
    for path in TEMPLATES.rglob("*.html"):
        for title in re.findall(r"{% block title %}(.*?){% endblock", path.read_text(), re.S):
            if "<" in title or "\n" in title:
                bad.append(str(path.relative_to(TEMPLATES)))
    assert not bad, bad


def test_english_pages_speak_english_punctuation(demo):
    """The interface's words and its colons follow the language (issue 12: "Reserved
    1栋1单元1702" as a page title, "Current project：" with a full-width colon)."""
    from loupan.accounts.models import User
    from loupan.inventory.models import Unit, UnitStatus
    from tests.testing import web_client

    user = demo["users"]["consultant"]
    User.objects.filter(pk=user.pk).update(language="en")
    user.refresh_from_db()
    client = web_client(user)
    home = client.get("/").content.decode()
    assert "Current project: " in home and "Current project：" not in home
    unit = Unit.objects.filter(project=demo["main"], status=UnitStatus.AVAILABLE).first()
    page = client.get(f"/projects/{demo['main'].pk}/deals/reserve/", {"unit": unit.pk})
    assert page.status_code == 200
    title = re.search(r"<title>(.*?)</title>", page.content.decode(), re.S).group(1)
    assert title.strip().startswith("Reserve unit"), title


def test_a_request_in_english_leaves_the_thread_in_chinese(demo):
    """The user's language is the request's, not the worker thread's from then on."""
    from django.utils import translation

    from loupan.accounts.models import User
    from tests.testing import web_client

    user = demo["users"]["consultant2"]
    User.objects.filter(pk=user.pk).update(language="en")
    user.refresh_from_db()
    translation.activate("zh-hans")
    assert "Current project: " in web_client(user).get("/").content.decode()
    assert translation.get_language() == "zh-hans"
