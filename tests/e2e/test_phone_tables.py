"""Lists on a phone-sized screen (issue 12): no column header wraps one character a line,
and the page never scrolls sideways (a wide list scrolls inside itself)."""

import pytest

from tests.e2e.helpers import log_in

pytestmark = pytest.mark.django_db(transaction=True)

MEASURE = """() => {
  const heads = [...document.querySelectorAll("main table.table th")].filter(
    th => th.offsetParent !== null && th.textContent.trim().length > 1);
  const stacked = heads.filter(th => {
    const style = getComputedStyle(th);
    const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const text = document.createRange(); text.selectNodeContents(th);
    return text.getClientRects().length > 1 || text.getBoundingClientRect().height > line * 1.6;
  }).map(th => th.textContent.trim());
  return {heads: heads.length, stacked, width: document.documentElement.scrollWidth,
          view: window.innerWidth};
}"""


def pages(project):
    p = f"/projects/{project.pk}"
    return {
        "consultant": [f"{p}/customers/", f"{p}/deals/", f"{p}/pool/"],
        "finance": [f"{p}/payments/", f"{p}/deals/"],
        "service": [f"{p}/aftersales/"],
    }


def test_lists_fit_a_phone(phone, office):
    seen = 0
    for username, paths in pages(office["main"]).items():
        phone.context.clear_cookies()
        log_in(phone, username)
        for path in paths:
            response = phone.goto(path)
            assert response.status == 200, path
            found = phone.evaluate(MEASURE)
            assert found["stacked"] == [], (path, found["stacked"])
            assert found["width"] <= found["view"] + 1, (path, found)
            seen += found["heads"]
    assert seen > 20  # the pages did show their tables
