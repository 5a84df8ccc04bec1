"""The committed .mo is the compiled committed .po (runtime needs no gettext), and the
merchant pages have no English left in Chinese."""

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def _po_entries(text: str) -> dict[str, str]:
    entries = {}
    for block in text.split("\n\n"):
        if "#~" in block or "msgctxt" in block:
            continue
        parts: dict[str, list[str]] = {}
        key = None
        for line in block.splitlines():
            m = re.match(r'^(msgid|msgid_plural|msgstr|msgstr\[0\]) "(.*)"$', line)
            if m:
                key = m.group(1)
                parts[key] = [m.group(2)]
            elif line.startswith('"') and key:
                parts[key].append(line[1:-1])
        msgid = "".join(parts.get("msgid", []))
        msgstr = "".join(parts.get("msgstr", parts.get("msgstr[0]", [])))
        if msgid and msgstr:
            entries[msgid.encode().decode("unicode_escape").encode("latin-1").decode()] = (
                msgstr.encode().decode("unicode_escape").encode("latin-1").decode())
    return entries


def test_mo_is_compiled_from_the_po():
    compiled = gettext.GNUTranslations(open(LOCALE / "django.mo", "rb"))
    entries = _po_entries((LOCALE / "django.po").read_text(encoding="utf-8"))
    assert len(entries) > 150
    stale = {k: v for k, v in entries.items() if compiled.gettext(k) != v and "%(n)s" not in k}
    assert not stale, f"run compilemessages: {list(stale)[:5]}"


@pytest.mark.django_db
def test_merchant_pages_are_fully_chinese(client, shop, merchant_user):
    client.force_login(merchant_user)
    english = re.compile(r">\s*([A-Z][a-z]+(?: [a-z]+)+)\s*<")
    for url in ["/m/", "/m/swipes/", f"/m/swipes/{shop.late.pk}/", "/m/arrivals/", f"/m/arrivals/{shop.payout.pk}/",
                "/m/cases/", f"/m/cases/{shop.case.pk}/", "/m/notifications/", "/m/export/"]:
        body = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
        found = [s for s in english.findall(body) if "Shop" not in s and "Settlement tracking" not in s]
        assert not found, (url, found)
