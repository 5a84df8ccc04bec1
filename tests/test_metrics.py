"""/metrics (issue 14 item 4): token-protected, business counters summed over
processes (prometheus_client multiprocess mode), state gauges from the database; and
the request id on every log line, in the response and in the tasks a request enqueues."""

import json
import logging
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery import shared_task
from django.db import transaction as db_transaction
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.request_id import HEADER, RequestIdLogFilter, _carry_request_id, request_id_var
from settlement.lifecycle import Outcome
from settlement.models import FollowUpCase, Notification, SettlementEvent
from settlement.services.delays import delays_flag
from settlement.services.events import EventInput, events_apply
from settlement.services.notifications import notifications_send_emails
from tests.channels.conftest import Acquirer
from tests.factories import ChannelFactory, MerchantFactory, TerminalFactory, make_transaction

TOKEN = "metrics-test-token"
SH = ZoneInfo("Asia/Shanghai")
CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    return settings


def scrape(client) -> dict[tuple, float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    values = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.mark.django_db
def test_metrics_is_a_404_until_a_token_is_set_then_wants_the_bearer(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401  # no scheme
    body = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    assert "settletrack_late_swipes_opened_total" in body and "settletrack_outbox_pending" in body


@pytest.mark.django_db(transaction=True)
def test_pushed_events_count_by_channel_source_outcome_and_requests_by_code(client, metrics_on):
    channel = ChannelFactory(code="acq-metrics", secret=_secret())
    shop = MerchantFactory(channel=channel, merchant_no="M910001")
    TerminalFactory(merchant=shop, serial_number="SN910001")
    txn = make_transaction(merchant=shop)
    acquirer = Acquirer(client, channel, secret=_secret())
    before = scrape(client)
    at = (timezone.now() - timedelta(minutes=5)).isoformat()
    body = {"events": [
        {"event_id": "m-1", "reference": txn.reference, "type": "settled", "occurred_at": at},
        {"event_id": "m-2", "reference": txn.reference, "type": "nonsense", "occurred_at": at},
        {"event_id": "m-3", "reference": "NO-SUCH", "type": "settled", "occurred_at": at},
    ]}
    assert acquirer.post("events", body).status_code == 200
    assert acquirer.post("events", {"events": body["events"][:1]}).status_code == 200  # a duplicate
    assert acquirer.post("events", {"events": []}, secret=_secret("other")).status_code == 401
    after = scrape(client)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    labels = {"channel": "acq-metrics", "source": "push"}
    assert delta("settletrack_events_total", outcome="applied", **labels) == 1
    assert delta("settletrack_events_total", outcome="rejected", **labels) == 2  # item rule + unknown reference
    assert delta("settletrack_events_total", outcome="duplicate", **labels) == 1
    assert delta("settletrack_push_requests_total", endpoint="events", status="200", code="ok") == 2
    refused = [k for k in after if k[0] == "settletrack_push_requests_total" and ("status", "401") in k[1]]
    assert refused and sum(after[k] - before.get(k, 0) for k in refused) == 1
    assert SettlementEvent.objects.filter(channel=channel, source="push", event_id__startswith="m-").count() == 1


@pytest.mark.django_db(transaction=True)
def test_events_count_only_once_committed(client, metrics_on):
    txn = make_transaction(merchant=MerchantFactory(channel=ChannelFactory(code="acq-rollback")))
    before = scrape(client)
    event = EventInput(event_id="rb-1", reference=txn.reference, type="settled",
                       occurred_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(RuntimeError), db_transaction.atomic():
        events_apply(channel=txn.channel, events=[event], source=SettlementEvent.Source.STAFF)
        raise RuntimeError("the outer transaction rolls back")
    labels = {"name": "settletrack_events_total", "channel": "acq-rollback", "source": "staff",
              "outcome": Outcome.APPLIED}
    assert value(scrape(client), **labels) == value(before, **labels)
    events_apply(channel=txn.channel, events=[event], source=SettlementEvent.Source.STAFF)
    assert value(scrape(client), **labels) == value(before, **labels) + 1


@pytest.mark.django_db(transaction=True)
def test_late_swipes_open_cases_by_cause_and_outbox(client, metrics_on, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    merchant = MerchantFactory(contact_email="shop@example.com")
    txns = [make_transaction(merchant=merchant, captured_at=CAPTURED) for _ in range(3)]
    before = scrape(client)
    delays_flag(now=txns[0].overdue_at + timedelta(minutes=1))
    after = scrape(client)
    assert value(after, "settletrack_late_swipes_opened_total") - value(before, "settletrack_late_swipes_opened_total") == 3
    by_cause = {dict(k[1])["cause"]: v for k, v in after.items() if k[0] == "settletrack_open_cases"}
    open_cases = FollowUpCase.objects.filter(status=FollowUpCase.Status.OPEN)
    assert sum(by_cause.values()) == open_cases.count() == 3
    assert by_cause == {c: open_cases.filter(cause=c).count() for c in by_cause}

    events_apply(channel=txns[0].channel, source=SettlementEvent.Source.PUSH, events=[EventInput(
        event_id="late-1", reference=txns[0].reference, type="credited",
        occurred_at=timezone.now() - timedelta(minutes=1))])
    closed = scrape(client)
    assert value(closed, "settletrack_late_swipes_closed_total") - value(after, "settletrack_late_swipes_closed_total") == 1
    assert sum(v for k, v in closed.items() if k[0] == "settletrack_open_cases") == 2

    pending = value(closed, "settletrack_outbox_pending")
    assert pending >= 1
    ids = list(Notification.objects.filter(merchant=merchant).values_list("id", flat=True))
    sent_before = value(closed, "settletrack_notification_emails_total", result="sent")
    assert notifications_send_emails(notification_ids=ids) == len(ids)
    final = scrape(client)
    assert value(final, "settletrack_notification_emails_total", result="sent") - sent_before == len(ids)
    assert value(final, "settletrack_outbox_pending") == pending - len(ids)


@pytest.mark.django_db
def test_counters_of_other_processes_are_summed(client, metrics_on, settings):
    """A Celery worker or another gunicorn worker increments in its own process."""
    before = value(scrape(client), "settletrack_late_swipes_opened_total")
    code = "import django; django.setup(); from config import metrics; metrics.LATE_OPENED.inc(7)"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings",
           "PROMETHEUS_MULTIPROC_DIR": os.environ["PROMETHEUS_MULTIPROC_DIR"]}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=60)
    assert value(scrape(client), "settletrack_late_swipes_opened_total") == before + 7


# --- request ids ----------------------------------------------------------------
@pytest.mark.django_db
def test_request_id_is_generated_or_accepted_and_returned(client):
    generated = client.get("/healthz")[HEADER]
    assert re.fullmatch(r"[a-z2-7]{32}", generated)
    assert client.get("/healthz", headers={HEADER: "edge-7f3a.1"})[HEADER] == "edge-7f3a.1"
    for bad in ("x" * 129, "two words", "line\nbreak"):
        replaced = client.get("/healthz", headers={HEADER: bad})[HEADER]
        assert replaced != bad and len(replaced) == 32


@pytest.mark.django_db
def test_every_log_line_of_a_request_has_its_id_as_json(client, channel_for_logs):
    from pythonjsonlogger.json import JsonFormatter

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Keep()
    handler.addFilter(RequestIdLogFilter())
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"))
    security = logging.getLogger("security")
    security.addHandler(handler)
    try:
        Acquirer(client, channel_for_logs).post("events", {"events": []}, secret=_secret("other"),
                                                headers={HEADER: "rid-log-1"})
    finally:
        security.removeHandler(handler)
    assert lines, "a refused signature is logged"
    assert all(json.loads(line)["request_id"] == "rid-log-1" for line in lines)
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    RequestIdLogFilter().filter(outside)
    assert outside.request_id == "-"


@pytest.fixture
def channel_for_logs(db):
    return ChannelFactory(code="acq-logs", secret=_secret())


@shared_task
def _echo_request_id() -> str:
    return request_id_var.get()


def test_the_request_id_travels_in_the_task_headers():
    # Outside any request, as in a worker (an earlier test's request on this thread may
    # have left its id: a test client request that raises sends no request_finished).
    request_id_var.set("-")
    headers: dict = {}
    token = request_id_var.set("rid-task-1")
    try:
        _carry_request_id(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers == {"request_id": "rid-task-1"}
    # What the worker runs: the header becomes the task's request id, then is cleared.
    assert _echo_request_id.apply(headers=headers).get() == "rid-task-1"
    assert _echo_request_id.apply().get() == "-"
    assert request_id_var.get() == "-"


def _secret(kind: str = "main") -> str:
    import base64

    return "whsec_" + base64.b64encode(f"metrics-secret-{kind}-000001".encode()).decode()


@pytest.mark.django_db(transaction=True)
def test_polls_record_latency_and_failures_by_channel(client, metrics_on, fake_status_api):
    from channels.polling import PollFailed
    from settlement.services.polling import channel_poll
    from tests.fake_acquirer import polling_on

    merchant = MerchantFactory(channel=ChannelFactory(code="acq-polled"))
    polling_on(merchant.channel_id)
    txn = make_transaction(merchant=merchant)
    late = (timezone.now() - timedelta(minutes=3)).isoformat()
    fake_status_api.knows[txn.reference] = [{"event_id": "p-1", "type": "cleared", "occurred_at": late},
                                            {"event_id": "p-2", "type": "bogus", "occurred_at": late}]
    before = scrape(client)

    channel = {"channel": "acq-polled"}
    for failure in (None, PollFailed("timeout", "the status API did not answer")):
        fake_status_api.failure = failure  # an answer, then a failed poll
        txn.__class__.objects.filter(pk=txn.pk).update(next_poll_at=timezone.now())
        channel_poll(channel_id=merchant.channel_id)
    after = scrape(client)
    assert value(after, "settletrack_poll_duration_seconds_count", **channel) - value(
        before, "settletrack_poll_duration_seconds_count", **channel) == 2
    assert value(after, "settletrack_poll_failures_total", code="timeout", **channel) == 1 + value(
        before, "settletrack_poll_failures_total", code="timeout", **channel)
    poll = {"channel": "acq-polled", "source": "poll"}
    for outcome in ("applied", "rejected"):
        assert value(after, "settletrack_events_total", outcome=outcome, **poll) == 1 + value(
            before, "settletrack_events_total", outcome=outcome, **poll)


def test_production_logs_are_json_lines_with_a_request_id(tmp_path):
    code = ("import django, logging; django.setup(); "
            "logging.getLogger('settlement').warning('scan lagging %s', 3)")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_SECURE": "true",
           "DJANGO_SECRET_KEY": "x" * 50, "VAR_DIR": str(tmp_path)}
    env.pop("LOG_FORMAT", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=True)
    line = json.loads(out.stderr.strip().splitlines()[-1])
    assert line["message"] == "scan lagging 3" and line["level"] == "WARNING" and line["logger"] == "settlement"
    assert line["request_id"] == "-" and "time" in line
