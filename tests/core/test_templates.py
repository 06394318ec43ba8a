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
