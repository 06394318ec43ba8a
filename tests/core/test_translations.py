"""The English catalogue is complete and compiled (the UI is Chinese by default,
English per user)."""

import gettext
import re
from pathlib import Path

import loupan

LOCALE = Path(loupan.__file__).parent / "locale" / "en" / "LC_MESSAGES"


def po_entries():
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if not msgid:
            continue
        ident = "".join(re.findall(r'"(.*)"', msgid.group(1)))
        if ident:
            yield ident, block


def test_every_message_is_translated_and_none_is_fuzzy():
    untranslated, fuzzy = [], []
    for ident, block in po_entries():
        if "#, fuzzy" in block:
            fuzzy.append(ident)
        strs = re.findall(r'^msgstr(?:\[\d\])? ((?:".*"\n?)+)', block, re.M)
        if not strs or any(not "".join(re.findall(r'"(.*)"', s)) for s in strs):
            untranslated.append(ident)
    assert fuzzy == []
    assert untranslated == []


def test_compiled_catalogue_matches_the_source():
    with open(LOCALE / "django.mo", "rb") as fh:
        catalog = gettext.GNUTranslations(fh)
    idents = [ident for ident, _block in po_entries()]
    missing = [
        i
        for i in idents
        if "\\" not in i and i not in catalog._catalog and (i, 0) not in catalog._catalog
    ]
    assert missing == [], "run `make messages` (msgfmt) after editing django.po"
    assert catalog.gettext("销控表") == "Sales-control board"
