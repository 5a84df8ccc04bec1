"""The staff workspace (issue 11): two voices on a case, a real new expected arrival,
the missed-arrival scan, find anything in the queue, reply templates, clear errors."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from settlement.models import CaseEntry, FollowUpCase, Notification, ReplyTemplate, Transaction
from settlement.services.cases import CaseError
from settlement.services.notifications import notification_render
from settlement.services.replies import (
    case_reply,
    case_set_new_arrival,
    cases_arrival_missed,
    reply_template_fill,
)
from tests.factories import MembershipFactory, MerchantFactory, UserFactory, make_transaction
from tests.settlement.test_staff_pages import QUERY_DAYS, QUEUE_QUERIES, open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_case(merchant, merchant_user):
    return open_case(merchant=merchant, amount="1280.00")


# --- two voices ---------------------------------------------------------------------
def test_a_reply_reaches_the_merchant_and_a_note_does_not(client, staff_user, merchant_user, shop_case):
    client.force_login(staff_user)
    url = f"/staff/cases/{shop_case.pk}"
    assert client.post(f"{url}/reply/", {"body": "款项已在处理，预计明天到账"}).status_code == 302
    assert client.post(f"{url}/note/", {"body": "INTERNAL: acquirer is slow again"}).status_code == 302
    reply = shop_case.entries.get(kind=CaseEntry.Kind.STAFF_REPLY)
    assert reply.visible_to_merchant and reply.author == staff_user
    assert not shop_case.entries.get(kind=CaseEntry.Kind.NOTE).visible_to_merchant
    # the staff page tells the two voices apart
    html = client.get(f"{url}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "voice-merchant" in html and "voice-internal" in html and "merchant sees this" in html
    # the merchant sees the reply (and a notification), never the note
    client.force_login(merchant_user)
    page = client.get(f"/m/cases/{shop_case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "款项已在处理，预计明天到账" in page and "INTERNAL" not in page
    note = Notification.objects.get(case=shop_case, kind=Notification.Kind.CASE_UPDATE)
    title, body = notification_render(note)
    assert shop_case.reference in title and body == "款项已在处理，预计明天到账"


def test_a_reply_needs_text_and_refuses_card_numbers(staff_user, shop_case):
    with pytest.raises(CaseError) as empty:
        case_reply(case=shop_case, by=staff_user, body="   ")
    assert empty.value.code == "empty_reply"
    with pytest.raises(CaseError) as pan:
        case_reply(case=shop_case, by=staff_user, body="card 4111111111111111")
    assert pan.value.code == "full_pan_forbidden"
    assert not Notification.objects.filter(kind=Notification.Kind.CASE_UPDATE).exists()


# --- new expected arrival -------------------------------------------------------------
def test_a_past_arrival_is_refused_with_a_clear_error(client, staff_user, shop_case):
    client.force_login(staff_user)
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(f"/staff/cases/{shop_case.pk}/new-arrival/", {"at": past, "reason": "bank batch"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 409
    assert "must be in the future" in response.content.decode()
    shop_case.refresh_from_db()
    assert shop_case.new_expected_by is None
    assert not Notification.objects.filter(kind=Notification.Kind.CASE_UPDATE).exists()


def test_a_new_arrival_is_shown_to_the_merchant_with_who_and_why(client, staff_user, merchant_user, shop_case):
    client.force_login(staff_user)
    future = timezone.localtime() + timedelta(days=1)
    response = client.post(f"/staff/cases/{shop_case.pk}/new-arrival/",
                           {"at": future.strftime("%Y-%m-%dT%H:%M"), "reason": "银行批量延迟"})
    assert response.status_code == 302
    shop_case.refresh_from_db()
    assert shop_case.new_expected_set_by == staff_user and shop_case.follow_up_at is None
    client.force_login(merchant_user)
    page = client.get(f"/m/cases/{shop_case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="new-arrival"' in page and "银行批量延迟" in page and "support" in page
    title, body = notification_render(Notification.objects.get(case=shop_case, kind=Notification.Kind.CASE_UPDATE))
    assert future.strftime("%Y-%m-%d %H:%M") in body and "银行批量延迟" in body


def test_the_internal_reminder_is_never_shown_to_the_merchant(client, staff_user, merchant_user, shop_case):
    client.force_login(staff_user)
    # A year no swipe, case reference or deadline on the page can contain.
    response = client.post(f"/staff/cases/{shop_case.pk}/follow-up/", {"at": "2031-07-23T04:37"})
    assert response.status_code == 302
    shop_case.refresh_from_db()
    assert shop_case.follow_up_at is not None
    client.force_login(merchant_user)
    home = client.get("/m/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "2031" not in home and "7月23日" not in home and "04:37" not in home
    assert "follow_up_at" not in client.get(f"/api/v1/me/cases/{shop_case.pk}/").content.decode()


def test_a_missed_arrival_escalates_once_and_tells_the_merchant_once(staff_user, shop_case):
    now = timezone.now()
    case_set_new_arrival(case=shop_case, by=staff_user, at=now + timedelta(hours=2), reason="bank batch", now=now)
    assert cases_arrival_missed(now=now + timedelta(hours=1)) == 0
    later = now + timedelta(hours=3)
    assert cases_arrival_missed(now=later) == 1
    assert cases_arrival_missed(now=later + timedelta(minutes=5)) == 0  # once
    shop_case.refresh_from_db()
    assert shop_case.status == FollowUpCase.Status.ESCALATED and shop_case.arrival_missed_at == later
    missed = Notification.objects.filter(case=shop_case, data__topic="arrival_missed")
    assert missed.count() == 1
    assert shop_case.entries.filter(kind=CaseEntry.Kind.ARRIVAL_MISSED, visible_to_merchant=True).count() == 1
    # a new promise re-arms the scan
    case_set_new_arrival(case=shop_case, by=staff_user, at=later + timedelta(hours=1), reason="again", now=later)
    assert cases_arrival_missed(now=later + timedelta(hours=2)) == 1


def test_a_missed_arrival_comes_back_to_the_top_of_the_queue(client, staff_user):
    now = timezone.now()
    urgent = open_case(amount="900.00", sla_due_at=now + timedelta(minutes=30))
    promised = open_case(amount="5.00", sla_due_at=now + timedelta(hours=20))
    case_set_new_arrival(case=promised, by=staff_user, at=now + timedelta(minutes=1), reason="x", now=now)
    cases_arrival_missed(now=now + timedelta(minutes=2))
    client.force_login(staff_user)
    html = client.get("/staff/").content.decode()
    assert html.index(promised.reference) < html.index(urgent.reference)


# --- find anything --------------------------------------------------------------------
@pytest.fixture
def three_cases():
    a = open_case(merchant=MerchantFactory(merchant_no="M100003", name="鲜果坊 Fresh Fruit"), amount="66.00")
    b = open_case(merchant=MerchantFactory(merchant_no="M200777", name="川味小馆"), amount="900.00")
    c = open_case(merchant=MerchantFactory(merchant_no="M300001", name="晨光文具"), amount="10.00",
                  masked_pan="622202******9876")
    assert c.card_last4 == "9876"  # the late scan copied the card's last 4 digits onto the case
    return a, b, c


def _refs(client, cases, **params) -> list[str]:
    html = client.get("/staff/", params).content.decode()
    found = [(html.index(c.reference), c.reference) for c in cases if c.reference in html]
    return [ref for _pos, ref in sorted(found)]


def test_search_finds_by_every_key(client, staff_user, three_cases):
    a, b, c = three_cases
    client.force_login(staff_user)
    assert _refs(client, three_cases, q="100003") == [a.reference]  # merchant no, partial
    assert _refs(client, three_cases, q="m2007") == [b.reference]  # any case
    assert _refs(client, three_cases, q="川味") == [b.reference]  # merchant name
    assert _refs(client, three_cases, q="9876") == [c.reference]  # last 4 digits
    assert _refs(client, three_cases, q=c.transaction.reference) == [c.reference]  # swipe reference
    assert _refs(client, three_cases, q=a.reference[-6:]) == [a.reference]  # case number, partial
    assert _refs(client, three_cases, q="nothing-like-this") == []


def test_saved_views_and_sorting(client, staff_user, three_cases):
    a, b, c = three_cases
    FollowUpCase.objects.update(sla_due_at=timezone.now() + timedelta(hours=5))
    FollowUpCase.objects.filter(pk=a.pk).update(assignee=staff_user, status="claimed")
    FollowUpCase.objects.filter(pk=b.pk).update(status="escalated", sla_due_at=timezone.now() - timedelta(hours=1))
    client.force_login(staff_user)
    assert _refs(client, three_cases, view="mine") == [a.reference]
    assert set(_refs(client, three_cases, view="unassigned")) == {b.reference, c.reference}
    assert _refs(client, three_cases, view="escalated") == [b.reference]
    assert _refs(client, three_cases, view="breached") == [b.reference]
    assert _refs(client, three_cases, sort="-amount") == [b.reference, a.reference, c.reference]
    assert _refs(client, three_cases, sort="amount") == [c.reference, a.reference, b.reference]
    assert _refs(client, three_cases, sort="bogus")  # unknown sort: the default, not a 500


def test_queue_shows_days_late_from_the_expected_arrival(client, staff_user):
    case = open_case(amount="50.00", opened_at=timezone.now() - timedelta(hours=1))
    now = timezone.now()
    Transaction.objects.filter(pk=case.transaction_id).update(expected_by=now - timedelta(days=9, hours=1),
                                                               overdue_at=now - timedelta(days=9))
    FollowUpCase.objects.filter(pk=case.pk).update(due_at=now - timedelta(days=9, hours=1))  # reschedule's part
    client.force_login(staff_user)
    html = client.get("/staff/", {"age": "8-30"}).content.decode()
    assert case.reference in html and '<td class="days-late">9</td>' in html


def test_inquiry_cases_show_the_gross_amount(client, staff_user, merchant, merchant_user):
    from settlement.services.inquiries import inquiry_open

    txn = make_transaction(merchant=merchant, amount="1000.00")
    result = inquiry_open(user=merchant_user, merchant=merchant, transaction=txn, message="where is it")
    assert result.case.amount_at_stake == txn.amount != txn.net


@pytest.mark.parametrize("day", QUERY_DAYS)
def test_queue_query_count_is_fixed_with_views_search_and_sorting(client, staff_user, django_assert_num_queries,
                                                                  day):
    with time_machine.travel(day, tick=False):
        for _ in range(3):
            open_case()
        client.force_login(staff_user)
        params = {"q": "Shop", "view": "unassigned", "sort": "-days_late"}
        client.get("/staff/", params)
        # as the plain queue, less the incident rows (a search lists incident cases inline),
        # plus the search's matching ids (search.queue_search)
        with django_assert_num_queries(QUEUE_QUERIES):
            assert client.get("/staff/", params).status_code == 200
        for _ in range(4):
            open_case()
        with django_assert_num_queries(QUEUE_QUERIES):
            assert client.get("/staff/", params).status_code == 200


def test_a_search_finds_the_same_cases_whether_its_matches_are_few_or_many(client, staff_user, monkeypatch):
    """Few matches are fetched as ids first, many keep the subquery: same rows, same totals."""
    from settlement.staff import search

    shop = MerchantFactory(name="Zhou's Noodles")
    mine = [open_case(merchant=shop, amount=a) for a in ("10.00", "20.00", "30.00")]
    open_case()  # another merchant's
    client.force_login(staff_user)

    def found():
        html = client.get("/staff/", {"q": "Zhou", "sort": "-amount"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        refs = [c.reference for c in sorted(mine, key=lambda c: -c.amount_at_stake)]
        assert [html.index(f'data-reference="{r}"') for r in refs] == sorted(html.index(f'data-reference="{r}"')
                                                                             for r in refs)
        return html[html.index('id="queue-totals"'):html.index("</p>", html.index('id="queue-totals"'))], refs

    few = found()
    monkeypatch.setattr(search, "SEARCH_MATERIALIZE_MAX", 2)  # three matches: "many"
    assert found() == few and "3 cases" in few[0] and "¥60.00" in few[0]


# --- clear errors -----------------------------------------------------------------------
def test_an_empty_contact_form_says_what_is_missing(client, staff_user, shop_case):
    client.force_login(staff_user)
    response = client.post(f"/staff/cases/{shop_case.pk}/contact/", {}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 400 and "This field is required" in html and "code-invalid_form" in html
    assert not shop_case.entries.filter(kind=CaseEntry.Kind.CONTACT).exists()


def test_history_shows_local_times_and_translated_outcomes(client, staff_user, shop_case):
    client.force_login(staff_user)
    client.post(f"/staff/cases/{shop_case.pk}/contact/", {"party": "ICBC", "said": "batch", "contacted_at":
                                                          "2026-11-20T10:00"})
    client.post(f"/staff/cases/{shop_case.pk}/resolve/", {"outcome": "compensated"})
    html = client.get(f"/staff/cases/{shop_case.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "2026-11-20 10:00" in html and "+00:00" not in html
    assert "compensated" not in html.replace('value="compensated"', "")


# --- reply templates ----------------------------------------------------------------------
def test_a_template_is_filled_with_the_case_facts_in_the_merchants_language(client, staff_user, shop_case):
    template = ReplyTemplate.objects.create(
        name="delay", body_zh="{merchant_name}：您的款项{amount}因{cause}延迟，预计{new_expected_by}前到账。{nope}",
        body_en="Your {amount} is late ({cause}); case {case_reference}.",
    )
    zh = reply_template_fill(template, case=shop_case, language="zh-hans")
    assert shop_case.merchant.name in zh and "¥1,280.00" in zh and "{nope}" in zh
    en = reply_template_fill(template, case=shop_case, language="en")
    assert shop_case.reference in en and "¥1,280.00" in en
    client.force_login(staff_user)
    html = client.get(f"/staff/cases/{shop_case.pk}/", {"template": template.pk}).content.decode()
    assert "¥1,280.00" in html  # the reply box starts from the filled template


def test_another_merchant_never_sees_a_reply(client, staff_user, shop_case):
    other = UserFactory(username="other-shop")
    MembershipFactory(user=other, merchant=MerchantFactory())
    case_reply(case=shop_case, by=staff_user, body="for the right shop only")
    client.force_login(other)
    assert client.get(f"/m/cases/{shop_case.pk}/").status_code == 404
    assert "for the right shop only" not in client.get("/m/notifications/").content.decode()
