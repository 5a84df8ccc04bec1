"""The staff follow-up pages, server-rendered."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from settlement.models import ChannelIncident, FollowUpCase, Transaction
from settlement.services.delays import delays_flag
from tests.factories import MerchantFactory, UserFactory, make_transaction, push

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def open_case(*, merchant=None, amount="128.00", captured_at=None, masked_pan="622202******1234",
              **fields) -> FollowUpCase:
    """A late swipe found by the real scan; then adjust the case for the test."""
    merchant = merchant or MerchantFactory()
    txn = make_transaction(merchant=merchant, amount=amount, masked_pan=masked_pan,
                           captured_at=captured_at or timezone.now() - timedelta(days=5))
    delays_flag(now=txn.overdue_at + timedelta(minutes=1))
    case = FollowUpCase.objects.get(transaction=txn)
    if fields:
        FollowUpCase.objects.filter(pk=case.pk).update(**fields)
        case.refresh_from_db()
    return case


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/staff/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_merchants_never_reach_staff_pages(client, merchant_user, merchant):
    case = open_case(merchant=merchant)
    client.force_login(merchant_user)
    assert client.get("/staff/").status_code == 403
    assert client.get(f"/staff/cases/{case.pk}/").status_code == 403
    assert client.post(f"/staff/cases/{case.pk}/claim/").status_code == 403
    assert FollowUpCase.objects.get(pk=case.pk).assignee is None


def test_queue_orders_by_urgency_and_shows_count_and_money(client, staff_user):
    now = timezone.now()
    later = open_case(amount="500.00", sla_due_at=now + timedelta(hours=5))
    small = open_case(amount="10.00", sla_due_at=now + timedelta(hours=1))
    big = open_case(amount="900.00", sla_due_at=now + timedelta(hours=1))
    client.force_login(staff_user)
    response = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    order = [html.index(c.reference) for c in (big, small, later)]
    assert order == sorted(order)
    assert "3 cases" in html and "1,410.00" in html


def test_queue_filters(client, staff_user):
    now = timezone.now()
    a = open_case(amount="10.00", opened_at=now - timedelta(hours=3))
    b = open_case(amount="20.00", cause="risk_hold", opened_at=now - timedelta(hours=3))
    # Age counts from the swipe's expected arrival, not from the case's opening.
    Transaction.objects.filter(pk=a.transaction_id).update(expected_by=now - timedelta(hours=20),
                                                           overdue_at=now - timedelta(hours=18))
    Transaction.objects.filter(pk=b.transaction_id).update(expected_by=now - timedelta(days=9),
                                                           overdue_at=now - timedelta(days=9))
    # A raw UPDATE bypasses reschedule, which keeps the cases' copy in step: do its part.
    FollowUpCase.objects.filter(pk=a.pk).update(due_at=now - timedelta(hours=20))
    FollowUpCase.objects.filter(pk=b.pk).update(due_at=now - timedelta(days=9))
    client.force_login(staff_user)

    def refs(**params):
        html = client.get("/staff/", params).content.decode()
        return {c.reference for c in (a, b) if c.reference in html}

    assert refs() == {a.reference, b.reference}
    assert refs(cause="risk_hold") == {b.reference}
    assert refs(channel=a.channel.code) == {a.reference}
    assert refs(merchant=b.merchant.merchant_no) == {b.reference}
    assert refs(age="8-30") == {b.reference}
    assert refs(age="0-1") == {a.reference}
    assert refs(status="claimed") == set()
    assert client.get("/staff/", {"age": "nonsense", "status": "bogus"}).status_code == 200


# The queue's queries, whatever the day: session, user, role groups, totals with the page
# count, the page (sorted ids and their rows in one statement), every channel (filter,
# poll-apply banner, at-risk horizon and, from 1 November to 31 December, whether each
# calendar has next year complete: the calendar banner), at-risk swipes with their
# totals, open incidents (their case counts one more query, only while one is open; the
# session is not rewritten within a minute: config/sessions.py). Each test runs on a day
# with the calendar banner and on days without it, so none of them depends on today's date.
QUEUE_QUERIES = 8
QUERY_DAYS = [
    pytest.param(datetime(2026, 6, 10, 10, 0, tzinfo=SH), id="june"),
    pytest.param(datetime(2026, 12, 2, 10, 0, tzinfo=SH), id="december-banner"),
    pytest.param(datetime(2027, 1, 4, 10, 0, tzinfo=SH), id="january"),
]


@pytest.mark.parametrize("day", QUERY_DAYS)
def test_queue_query_count_does_not_grow_with_cases(client, staff_user, django_assert_num_queries, day):
    with time_machine.travel(day, tick=False):
        for _ in range(3):
            open_case()
        client.force_login(staff_user)
        client.get("/staff/")  # warm the calendar cache and the session
        with django_assert_num_queries(QUEUE_QUERIES):
            assert client.get("/staff/").status_code == 200
        for _ in range(5):
            open_case()
        with django_assert_num_queries(QUEUE_QUERIES):
            assert client.get("/staff/").status_code == 200


def test_the_calendar_banner_is_read_with_the_channels_only_in_november_and_december(staff_user, client):
    """The one date-dependent part of the queue: the channel list asks for next year's
    calendar years from 1 November, and the page's query count stays the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def banner_queries(day) -> tuple[int, int]:
        with time_machine.travel(day, tick=False):
            client.force_login(staff_user)
            client.get("/staff/")
            with CaptureQueriesContext(connection) as ctx:
                client.get("/staff/")
        return sum("channels_calendaryear" in q["sql"] for q in ctx.captured_queries), len(ctx.captured_queries)

    open_case()
    assert [banner_queries(p.values[0]) for p in QUERY_DAYS] == [(0, QUEUE_QUERIES), (1, QUEUE_QUERIES),
                                                                 (0, QUEUE_QUERIES)]
    assert banner_queries(datetime(2026, 10, 31, 23, 59, tzinfo=SH)) == (0, QUEUE_QUERIES)
    assert banner_queries(datetime(2026, 11, 1, 0, 1, tzinfo=SH)) == (1, QUEUE_QUERIES)
    assert banner_queries(datetime(2026, 12, 31, 23, 59, tzinfo=SH)) == (1, QUEUE_QUERIES)


def test_htmx_filter_returns_only_the_table(client, staff_user):
    open_case()
    client.force_login(staff_user)
    html = client.get("/staff/", {"cause": "clearing_house"}, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and "case-row" in html


@pytest.mark.parametrize("day", QUERY_DAYS)
def test_the_htmx_partial_skips_what_only_the_full_page_shows(client, staff_user, django_assert_num_queries, day):
    with time_machine.travel(day, tick=False):
        case = open_case()
        client.force_login(staff_user)
        client.get("/staff/")
        # no channels (filter form, poll banner), no at-risk swipes, no calendar banner
        with django_assert_num_queries(QUEUE_QUERIES - 2):
            html = client.get("/staff/", HTTP_HX_REQUEST="true").content.decode()
        assert "<html" not in html and case.reference in html
        # the back button after hx-push-url restores the whole page, filter form included
        html = client.get("/staff/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true").content.decode()
        assert "<html" in html and f'<option value="{case.channel.code}"' in html


def test_case_page_explains_everything(client, staff_user):
    merchant = MerchantFactory(account_last4="6021", contact_phone="13800000000")
    # 2026-09-30 T1: the due day skips National Day / Mid-Autumn holidays.
    with time_machine.travel(datetime(2026, 10, 12, 12, 0, tzinfo=SH), tick=False):
        case = open_case(merchant=merchant, captured_at=datetime(2026, 9, 30, 10, 0, tzinfo=SH))
        push(case.transaction, "cleared", datetime(2026, 9, 30, 22, 0, tzinfo=SH), event_id="clr-1")
        client.force_login(staff_user)
        html = client.get(f"/staff/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "****6021" in html and "13800000000" in html
    assert "622202******1234" in html  # the masked card only
    assert "2026-10-01" in html  # a skipped holiday, named
    assert "Holiday / peak backlog" in html and "spans a public holiday" in html
    assert "SLA breached" in html
    # the timeline: captured (push), cleared (push), found late (system), with both times
    assert html.count('class="event"') == 3 and "System" in html and "Found late" in html


def test_staff_actions_are_recorded_on_the_history(client, supervisor_user):
    case = open_case()
    colleague = UserFactory(username="colleague", is_staff=True)
    client.force_login(supervisor_user)
    url = f"/staff/cases/{case.pk}"
    assert client.post(f"{url}/claim/").status_code == 302
    client.post(f"{url}/note/", {"body": "Called the merchant"})
    client.post(f"{url}/contact/", {"party": "ICBC ops, Ms Li", "said": "batch delayed", "reference": "T-77",
                                    "contacted_at": "2026-11-20T10:00"})
    client.post(f"{url}/follow-up/", {"at": "2026-11-25T10:00"})
    client.post(f"{url}/assign/", {"assignee": colleague.pk})
    client.post(f"{url}/escalate/", {"reason": "two days"})
    client.post(f"{url}/resolve/", {"outcome": "compensated", "note": "paid by acquirer"})
    case.refresh_from_db()
    assert (case.status, case.outcome, case.assignee) == ("resolved", "compensated", colleague)
    kinds = list(case.entries.values_list("kind", flat=True))
    assert kinds == ["opened", "claimed", "note", "contact", "follow_up", "assigned", "escalated", "resolved"]
    contact = case.entries.get(kind="contact")
    assert (contact.contact_party, contact.contact_reference) == ("ICBC ops, Ms Li", "T-77")


def test_claimed_by_someone_else_is_told(client, staff_user):
    case = open_case()
    first = UserFactory(username="first", is_staff=True)
    client.force_login(first)
    client.post(f"/staff/cases/{case.pk}/claim/")
    client.force_login(staff_user)
    response = client.post(f"/staff/cases/{case.pk}/claim/", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "first claimed this case first" in response.content.decode()
    assert FollowUpCase.objects.get(pk=case.pk).assignee == first


def test_bad_input_is_a_message_not_a_500(client, staff_user):
    case = open_case()
    client.force_login(staff_user)
    response = client.post(f"/staff/cases/{case.pk}/resolve/", {"outcome": "bogus"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and FollowUpCase.objects.get(pk=case.pk).status == "open"
    assert "Select a valid choice" in response.content.decode()
    assert client.post(f"/staff/cases/{case.pk}/explode/").status_code == 404
    assert client.get("/staff/cases/999999/").status_code == 404


def test_an_open_incident_costs_the_queue_one_query_for_its_counts(client, staff_user, settings,
                                                                   django_assert_num_queries):
    settings.DELAYS_INCIDENT_THRESHOLD = 3
    merchant = MerchantFactory()
    txns = [make_transaction(merchant=merchant, captured_at=timezone.now() - timedelta(days=4), amount="100.00")
            for _ in range(4)]
    delays_flag(now=txns[0].overdue_at + timedelta(minutes=1))
    push(txns[0], "credited")  # arrives: closes its case, which no longer counts
    open_case()  # one case outside the incident, so the page has a row to fetch
    client.force_login(staff_user)
    client.get("/staff/")
    with django_assert_num_queries(QUEUE_QUERIES + 1):
        html = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html[html.index('<tr class="incident">'):html.index("</tr>", html.index('<tr class="incident">'))]
    assert ">3</a>" in row and "300.00" in row


def test_incident_is_one_row_and_resolving_it_sends_cases_back(client, supervisor_user, settings):
    settings.DELAYS_INCIDENT_THRESHOLD = 3
    merchant = MerchantFactory()
    captured = timezone.now() - timedelta(days=4)
    txns = [make_transaction(merchant=merchant, captured_at=captured, amount="100.00") for _ in range(3)]
    delays_flag(now=txns[0].overdue_at + timedelta(minutes=1))
    incident = ChannelIncident.objects.get()
    push(txns[0], "credited")  # arrives: closes its case
    client.force_login(supervisor_user)
    html = client.get("/staff/").content.decode()
    assert 'class="incident"' in html and "case-row" not in html
    assert client.post(f"/staff/incidents/{incident.pk}/", {"note": "channel back"}).status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved"
    assert FollowUpCase.objects.filter(incident__isnull=True, status="open").count() == 2
    assert "200.00" in html  # the incident row: two open cases at stake


def test_at_risk_swipes_are_shown_before_they_are_late(client, staff_user):
    from settlement.services.delays import delays_mark_at_risk

    txn = make_transaction(merchant=MerchantFactory(name="鲜果坊"), amount="321.00",
                           captured_at=timezone.now() - timedelta(hours=20))
    now = txn.expected_by - timedelta(minutes=10)
    with time_machine.travel(now, tick=False):
        assert delays_mark_at_risk() == 1
        client.force_login(staff_user)
        html = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        zh = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "1 swipe at risk" in html and "321.00" in html
    row = html[html.index('id="at-risk"'):html.index("</details>", html.index('id="at-risk"'))]
    assert f"{txn.channel.code} · {txn.reference}" in row and "鲜果坊" in row and "Captured" in row
    zh_row = zh[zh.index('id="at-risk"'):zh.index("</details>", zh.index('id="at-risk"'))]
    assert "Captured" not in zh_row  # the status label in the page's language


def test_a_case_closed_by_the_arrival_shows_how_late_it_was(client, staff_user):
    case = open_case()
    txn = case.transaction
    push(txn, "credited", txn.expected_by + timedelta(hours=5))
    client.force_login(staff_user)
    html = client.get(f"/staff/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Credited late" in html and "arrived 5 h late" in html
    assert 'id="actions"' not in html  # nothing left to do on a resolved case


def test_queue_rows_built_in_python_escape_every_value(client, staff_user):
    """settlement/staff/rows.py writes the rows without the template engine: a merchant's
    name and number, a case reference, a swipe reference and a username stay text."""
    evil = "<script>alert(1)</script>"
    case = open_case(merchant=MerchantFactory(name=evil, merchant_no='M"><b>x'))
    Transaction.objects.filter(pk=case.transaction_id).update(reference="R<i>1")
    FollowUpCase.objects.filter(pk=case.pk).update(reference="C<u>1", assignee=UserFactory(username="a<b>", is_staff=True))
    client.force_login(staff_user)
    html = client.get("/staff/", {"q": "C<u>1"}).content.decode()
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for raw, escaped in (('M"><b>x', "M&quot;&gt;&lt;b&gt;x"), ("R<i>1", "R&lt;i&gt;1"), ("C<u>1", "C&lt;u&gt;1"),
                         ("a<b>", "a&lt;b&gt;")):
        assert raw not in html and escaped in html
    assert f'href="/staff/cases/{case.pk}/"' in html and 'data-reference="C&lt;u&gt;1"' in html


def test_queue_rows_look_as_the_template_drew_them(client, staff_user):
    case = open_case(amount="1280.00", status=FollowUpCase.Status.ESCALATED)
    client.force_login(staff_user)
    html = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html[html.index(f'data-reference="{case.reference}"'):]
    row = row[:row.index("</tr>")]
    assert 'class="case-row status-row-escalated"' in html and "¥1,280.00" in row and "Escalated" in row
    assert f'<a href="/staff/cases/{case.pk}/">{case.reference}</a>' in row and "<td>—</td>" in row
    assert '<td class="days-late">' in row and 'name="ids"' not in row  # agents have no bulk column
    client.get("/staff/", {"q": "nothing-matches-this"})
    assert "No cases match." in client.get("/staff/", {"q": "nothing-matches-this"},
                                           HTTP_ACCEPT_LANGUAGE="en").content.decode()
