"""Prometheus metrics (issue 14 item 4): the counters a payments operator watches.

Counters and the poll histogram live in prometheus_client's multiprocess mode: each
process (gunicorn workers, Celery workers and beat) writes its own mmap file under
PROMETHEUS_MULTIPROC_DIR and /metrics sums them at scrape. Counting from the database
at scrape would miss what is never stored (refused pushes, poll latency, failed
emails) and cost a scan of the events table per scrape. Gauges that describe the
state (open cases by cause, the outbox) are computed at scrape from the database
instead, with one indexed GROUP BY each: they are right whichever process changed them.

Files are named by host and pid, so processes of several containers sharing one
volume never write the same file. Labels are bounded: channel codes (only of a signed
channel), endpoint names, HTTP status, stable error codes, outcomes.
"""

import os
import socket

from django.conf import settings
from django.db.models import Count

# Multiprocess mode is chosen when prometheus_client is first imported: set it first.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.PROMETHEUS_MULTIPROC_DIR))
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

from prometheus_client import values  # noqa: E402

_HOST = socket.gethostname().replace("_", "-")
values.ValueClass = values.MultiProcessValue(lambda: f"{_HOST}-{os.getpid()}")

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest  # noqa: E402
from prometheus_client.core import GaugeMetricFamily  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector  # noqa: E402

EVENTS = Counter(
    "settletrack_events_total", "Status events judged, by channel, source and outcome",
    ["channel", "source", "outcome"],
)
PUSHES = Counter(
    "settletrack_push_requests_total", "Acquirer API requests by endpoint, HTTP status and result code",
    ["endpoint", "status", "code"],
)
POLL_SECONDS = Histogram(
    "settletrack_poll_duration_seconds", "One status-API request of a poll, by channel", ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POLL_FAILURES = Counter("settletrack_poll_failures_total", "Failed polls by channel and code", ["channel", "code"])
LATE_OPENED = Counter("settletrack_late_swipes_opened_total", "Swipes flagged late (a case opened)")
LATE_CLOSED = Counter("settletrack_late_swipes_closed_total", "Late swipes that became final (their case closed)")
EMAILS = Counter("settletrack_notification_emails_total", "Outbox email attempts by result", ["result"])


def count_events(*, channel: str, source: str, outcomes) -> None:
    """One increment per (outcome, n) pair; call after commit."""
    for outcome, n in outcomes.items():
        if n:
            EVENTS.labels(channel, source, outcome).inc(n)


class StateCollector:
    """Gauges from the database at scrape: cheap GROUP BYs over small, indexed sets."""

    def collect(self):
        from settlement.models import FollowUpCase
        from settlement.services.notifications import outbox_pending

        cases = GaugeMetricFamily("settletrack_open_cases", "Open follow-up cases by cause", labels=["cause"])
        rows = (
            FollowUpCase.objects.filter(status=FollowUpCase.Status.OPEN)
            .values_list("cause").order_by().annotate(n=Count("id"))
        )
        for cause, n in rows:
            cases.add_metric([cause], n)
        yield cases
        yield GaugeMetricFamily("settletrack_outbox_pending", "Notification emails neither sent nor given up",
                                value=outbox_pending().count())


def render() -> bytes:
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(StateCollector())
    return generate_latest(registry)
