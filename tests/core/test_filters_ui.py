"""What the list filters offer (issue 12): the deal list's 置业顾问 are the consultants,
not every member of the project; a yes/no filter left empty reads 全部, never 未知."""

import re

from loupan.deals.models import Deal
from tests.testing import web_client


def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return re.findall(r"<option[^>]*>([^<]*)</option>", select.group(1))


def test_the_consultant_filter_offers_consultants_only(demo):
    users, project = demo["users"], demo["main"]
    html = web_client(users["manager"]).get(f"/projects/{project.pk}/deals/").content.decode()
    offered = set(_options(html, "consultant"))
    for username in ("consultant", "consultant2"):
        assert str(users[username]) in offered
    for username in ("service", "auditor", "finance", "sysadmin"):
        if username in users:
            assert str(users[username]) not in offered, username
    # everyone who is the consultant of a deal there is offered
    for deal in Deal.objects.filter(project=project).select_related("consultant"):
        assert str(deal.consultant) in offered


def test_yes_no_filters_read_all_when_unset(demo):
    users, project = demo["users"], demo["main"]
    client = web_client(users["manager"])
    for url, name in (
        (f"/projects/{project.pk}/deals/", "live"),
        (f"/projects/{project.pk}/customers/", "problem"),
    ):
        html = client.get(url).content.decode()
        options = _options(html, name)
        assert options[0] == "全部", (url, options)
        assert "未知" not in options
    # and the filter still filters
    live = client.get(f"/projects/{project.pk}/deals/", {"live": "true"})
    assert live.status_code == 200


def test_the_switcher_shows_the_pages_project(demo):
    """A deal of 翠湖湾 opened while the session works in 云栖府: the page's project is
    the one shown as current, and the session's choice is left as it was."""
    users, main, second = demo["users"], demo["main"], demo["second"]
    member = next(
        u
        for u in users.values()
        if {main.pk, second.pk} <= set(u.memberships.values_list("project_id", flat=True))
    )
    client = web_client(member)
    session = client.session
    session["project_id"] = second.pk
    session.save()
    deal = Deal.objects.filter(project=main).first()
    html = client.get(f"/projects/{main.pk}/deals/{deal.pk}/").content.decode()
    selected = re.findall(r'<option value="(\d+)" selected>', html)
    assert selected == [str(main.pk)], selected
    assert client.session["project_id"] == second.pk
    # elsewhere the session's project stands
    home = client.get("/").content.decode()
    assert re.findall(r'<option value="(\d+)" selected>', home) == [str(second.pk)]
