"""The staff pages (queue, case, channel incident) and the merchant's late / arrived
notifications read in Chinese under zh-hans: the support agents are Chinese, and so are
most merchants. Same idea as tests/merchants/test_i18n_catalog.py (which also checks
that the committed .mo is compiled from the .po)."""

import html as htmllib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.utils import timezone, translation

from settlement.models import ChannelIncident, FollowUpCase, Notification
from settlement.services.cases import case_add_note, case_claim, case_record_contact, case_set_follow_up
from settlement.services.delays import delays_flag, delays_mark_at_risk
from settlement.services.notifications import notification_render, notifications_send_emails
from tests.factories import MerchantFactory, UserFactory, make_transaction, push

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
CJK = re.compile(r"[\u4e00-\u9fff]")
# Multi-word English text between tags, as in the merchant pages' check.
ENGLISH_PHRASE = re.compile(r"\b([A-Z][a-z]+(?: [a-z]+)+)\b")

# UI words taken from templates/settlement/staff/*.html and settlement/staff/forms.py.
QUEUE_WORDS = [
    "Late payments", "follow-up queue", "Follow-up queue", "Queue", "Channel", "Any channel", "Cause",
    "Any cause", "Merchant no.", "Age (days)", "Any age", "Unresolved", "Filter", "Clear", "Channel incidents",
    "Since", "Cases", "At stake", "at stake", "Case", "Merchant", "Amount", "SLA due", "SLA breached", "Status",
    "Assignee", "No cases match", "at risk", "late after", "Log out",
]
CASE_WORDS = [
    "Case", "SLA breached", "was due", "Summary", "Amount at stake", "Opened", "SLA due", "Assignee",
    "Follow up at", "Incident", "Suggested cause", "Merchant", "Name", "Contact", "Settlement account", "Cycle",
    "Expected arrival", "Swipe", "Captured", "after the cut-off", "Cycle / business date", "Expected by",
    "min grace", "Skipped days", "Found late", "Timeline", "Event", "Source", "Happened", "Learned", "History",
    "With", "ref.", "Actions", "Claim", "Assign", "Assign to", "Add note", "Note", "Record contact",
    "Who (acquirer", "When", "What was said", "Their reference", "Set follow-up", "Escalate", "Why", "Resolve",
    "Outcome", "Pushed by acquirer", "Learned by polling", "System", "system", "Weekend",
    # the suggested cause and its evidence
    "Holiday / peak backlog", "Clearing-house processing", "public holiday", "Status when found late",
    "Holiday in the window", "not yet cleared",
]
RESOLVED_CASE_WORDS = ["Credited late", "arrived", "h late", "Resolved", "Outcome"]
INCIDENT_WORDS = [
    "Channel incident", "Queue", "since", "open cases", "at stake", "channel health", "Resolving closes",
    "Resolve incident", "Note", "Case", "Merchant", "Amount", "Status", "Open", "Down", "Degraded",
    "Channel outage", "Holiday / peak backlog",
]


def visible_text(page: str, *, data: tuple[str, ...] = ()) -> str:
    """What a reader sees: no tags, scripts or styles, and no data values (merchant and
    channel names of the factories are partly English on purpose)."""
    page = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", " ", page)
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", page))
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return re.sub(r"\s+", " ", text)


def assert_chinese(text: str, words: list[str], must: list[str]):
    assert len(CJK.findall(text)) > 20, text[:500]
    for phrase in must:
        assert phrase in text, (phrase, text[:2000])
    found = [w for w in words if re.search(rf"(?<![A-Za-z]){re.escape(w)}(?![A-Za-z])", text)]
    assert not found, (found, text[:3000])
    phrases = ENGLISH_PHRASE.findall(text)
    assert not phrases, (phrases, text[:3000])


def late_case(*, merchant=None, amount="128.00", captured_at=None) -> FollowUpCase:
    merchant = merchant or MerchantFactory()
    txn = make_transaction(merchant=merchant, amount=amount,
                           captured_at=captured_at or timezone.now() - timedelta(days=5))
    delays_flag(now=txn.overdue_at + timedelta(minutes=1))
    return FollowUpCase.objects.get(transaction=txn)


def names(*merchants) -> tuple[str, ...]:
    return tuple(v for m in merchants for v in (m.name, m.channel.name))


def test_staff_queue_is_chinese(client, staff_user, settings):
    settings.DELAYS_INCIDENT_THRESHOLD = 3
    # one channel incident (three late swipes at once) ...
    burst = MerchantFactory()
    captured = timezone.now() - timedelta(days=4)
    for _ in range(3):
        make_transaction(merchant=burst, captured_at=captured, amount="100.00")
    delays_flag(now=timezone.now())
    assert ChannelIncident.objects.count() == 1
    # ... one ordinary late case past its SLA, and one swipe at risk of being late
    single = MerchantFactory()
    case = late_case(merchant=single, amount="1280.00")
    FollowUpCase.objects.filter(pk=case.pk).update(sla_due_at=timezone.now() - timedelta(hours=1))
    risky = MerchantFactory()
    txn = make_transaction(merchant=risky, amount="321.00", captured_at=timezone.now() - timedelta(hours=20))
    with time_machine.travel(txn.expected_by - timedelta(minutes=10), tick=False):
        assert delays_mark_at_risk() == 1
        client.force_login(staff_user)
        page = client.get("/staff/", **ZH).content.decode()
    assert 'class="incident"' in page and case.reference in page and 'id="at-risk"' in page
    text = visible_text(page, data=names(burst, single, risky) + ("staff",))
    assert_chinese(text, QUEUE_WORDS, must=["延迟款项跟进队列", "渠道异常", "已超 SLA 时限", "待到账", "有延迟风险"])


def test_staff_case_page_is_chinese(client, staff_user):
    merchant = MerchantFactory(contact_phone="13800000000")
    # 2026-09-30 T1: the due day skips the National Day / Mid-Autumn holidays.
    with time_machine.travel(datetime(2026, 10, 12, 12, 0, tzinfo=SH), tick=False):
        case = late_case(merchant=merchant, captured_at=datetime(2026, 9, 30, 22, 30, tzinfo=SH))
        now = timezone.now()
        case_claim(case=case, by=staff_user, now=now)
        case_add_note(case=case, by=staff_user, body="已致电商户", now=now)
        case_set_follow_up(case=case, by=staff_user, at=now + timedelta(days=1), now=now)
        case_record_contact(case=case, by=staff_user, party="工行运营 李女士", said="批次延迟",
                            reference="T-77", contacted_at=now, now=now)
        client.force_login(staff_user)
        page = client.get(f"/staff/cases/{case.pk}/", **ZH).content.decode()
    assert 'id="actions"' in page and 'id="skipped"' in page and 'id="sla-breach"' in page
    # The skipped days' names come from the calendar (English in the `holidays` package)
    # and are shown by their Chinese display names.
    text = visible_text(page, data=names(merchant) + (staff_user.username,))
    assert "National Day" not in text and "Day off" not in text
    assert_chinese(text, CASE_WORDS, must=[
        "工单", "初步判断原因", "节假日/高峰积压", "结算周期内有法定节假日", "预计到账", "顺延日期",
        "时间线", "处理记录", "联系对象", "接手", "回复商户", "添加内部备注", "记录联系", "升级", "结案", "国庆", "调休",
    ])


def test_staff_case_page_of_a_case_closed_by_the_arrival_is_chinese(client, staff_user):
    merchant = MerchantFactory()
    case = late_case(merchant=merchant)
    push(case.transaction, "credited", case.transaction.expected_by + timedelta(hours=5))
    client.force_login(staff_user)
    page = client.get(f"/staff/cases/{case.pk}/", **ZH).content.decode()
    text = visible_text(page, data=names(merchant))
    assert_chinese(text, CASE_WORDS + RESOLVED_CASE_WORDS, must=["延迟到账", "延迟 5 小时到账", "已解决"])


def test_staff_incident_page_is_chinese(client, supervisor_user, settings):
    settings.DELAYS_INCIDENT_THRESHOLD = 3
    merchant = MerchantFactory()
    captured = timezone.now() - timedelta(days=4)
    for _ in range(3):
        make_transaction(merchant=merchant, captured_at=captured, amount="100.00")
    delays_flag(now=timezone.now())
    incident = ChannelIncident.objects.get()
    client.force_login(supervisor_user)
    page = client.get(f"/staff/incidents/{incident.pk}/", **ZH).content.decode()
    text = visible_text(page, data=names(merchant))
    assert_chinese(text, INCIDENT_WORDS, must=["渠道异常", "个未结工单", "待到账", "渠道状况", "解除异常"])
    # resolving it answers in Chinese too
    response = client.post(f"/staff/incidents/{incident.pk}/", {"note": "渠道已恢复"}, follow=True, **ZH)
    assert "渠道异常已解除" in response.content.decode()


def test_staff_action_messages_are_chinese(client, staff_user):
    case = late_case()
    other = UserFactory(username="first", is_staff=True)
    client.force_login(other)
    client.post(f"/staff/cases/{case.pk}/claim/", **ZH)
    client.force_login(staff_user)
    page = client.post(f"/staff/cases/{case.pk}/claim/", follow=True, **ZH).content.decode()
    assert "first 已先接手该工单" in page
    page = client.post(f"/staff/cases/{case.pk}/note/", {"body": "核实中"}, follow=True, **ZH).content.decode()
    assert "已添加内部备注" in page
    page = client.post(f"/staff/cases/{case.pk}/reply/", {"body": "已在处理"}, follow=True, **ZH).content.decode()
    assert "已回复商户" in page


CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)
EMAIL_WORDS = ["Payment", "payment", "late", "arrived", "reference", "expected", "bank", "acquirer",
               "estimate", "Case", "closed", "Sorry", "hours"]


def test_late_and_arrived_emails_are_chinese_for_a_zh_merchant(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    merchant = MerchantFactory(language="zh-hans")
    txn = make_transaction(merchant=merchant, amount="1280.00", captured_at=CAPTURED)
    report = delays_flag(now=txn.overdue_at + timedelta(minutes=1))
    assert notifications_send_emails(notification_ids=report.notification_ids) == 1
    late = mail.outbox[0]
    assert late.subject == "款项 ¥1,280.00 延迟到账"
    assert "尚未到账" in late.body and "收单机构" in late.body and "2026-11-17 18:00" in late.body
    assert txn.reference in late.body and "L2611-" in late.body

    push(txn, "credited", txn.expected_by + timedelta(hours=3))
    arrived = Notification.objects.get(kind="arrived")
    assert notifications_send_emails(notification_ids=[arrived.pk]) == 1
    message = mail.outbox[1]
    assert message.subject == "款项 ¥1,280.00 已到账"
    assert "晚了 3.0 小时" in message.body and arrived.data["case_reference"] in message.body
    for sent in (late, message):
        text = f"{sent.subject} {sent.body}"
        assert not [w for w in EMAIL_WORDS if re.search(rf"\b{w}\b", text)], text

    # the in-app row follows the reader's language, the same text
    with translation.override("zh-hans"):
        title, body = notification_render(Notification.objects.get(kind="late"))
    assert (title, body) == (late.subject, late.body)
