"""Plain words (issue 13, item 5): every status badge on the merchant pages links to its
entry on the glossary page, which names each status in Chinese and English; `settled`
is never called 已结算 on a badge (acquirer apps use that for "paid to you")."""

import re

import pytest

from settlement.models import Payout
from tests.factories import make_transaction, push

pytestmark = pytest.mark.django_db
BADGE = re.compile(r'<(\w+) class="status [^"]*"(?: href="([^"]*)")?>([^<]*)<')


@pytest.fixture
def logged_in(client, shop, merchant_user):
    client.force_login(merchant_user)
    return client


def _pages(shop):
    return ["/m/", "/m/swipes/", f"/m/swipes/{shop.late.pk}/", f"/m/swipes/{shop.credited.pk}/", "/m/arrivals/",
            f"/m/arrivals/{shop.payout.pk}/", "/m/cases/", f"/m/cases/{shop.case.pk}/"]


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_badge_links_to_an_entry_that_exists(logged_in, shop, lang):
    glossary = logged_in.get("/m/statuses/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    anchors = set(re.findall(r'id="((?:swipe|credit|case)-\w+)"', glossary))
    seen = 0
    for url in _pages(shop):
        body = logged_in.get(url, HTTP_ACCEPT_LANGUAGE=lang).content.decode()
        for tag, href, label in BADGE.findall(body):
            seen += 1
            assert tag == "a" and href, f"{url}: badge {label!r} is not a link"
            path, _, anchor = href.partition("#")
            assert path == "/m/statuses/" and anchor in anchors, f"{url}: {href}"
    assert seen >= 10


def test_the_glossary_names_each_status_in_both_languages(logged_in):
    zh = logged_in.get("/m/statuses/").content.decode()
    en = logged_in.get("/m/statuses/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for text in ("待银行入账", "Sent to your bank", "已清算", "银行卡组织已完成清算，钱还没有付给您", "延迟"):
        assert text in zh
    assert "待银行入账" in en and "has not credited your account yet" in en


def test_a_settled_swipe_is_not_called_paid(logged_in, shop):
    txn = make_transaction(merchant=shop.merchant, amount="88.00")
    payout = Payout.objects.create(channel=shop.merchant.channel, reference="PSET1", merchant=shop.merchant,
                                   amount=txn.net, status=Payout.Status.SENT)
    push(txn, "cleared")
    push(txn, "settled", payout_reference=payout.reference)
    body = logged_in.get(f"/m/swipes/{txn.pk}/").content.decode()
    labels = [label for _tag, _href, label in BADGE.findall(body)]
    assert labels == ["待银行入账"]
    assert ">已结算<" not in body  # neither the badge nor the timeline step
    export_choices = logged_in.get("/m/swipes/").content.decode()
    assert '<option value="settled">待银行入账</option>' in export_choices
