"""Demo data: channels on the China calendar, merchants on every cycle, a merchant
login and a staff login, and a realistic spread of swipes (credited, in flight, late).
Deterministic for a seed. Writes only through the services."""

import json
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction as db_transaction
from django.utils import timezone

from channels.models import Channel
from channels.services import channel_create
from merchants.models import Membership, Merchant, Terminal
from settlement.arrival import Cycle
from settlement.lifecycle import EventType
from settlement.models import ReplyTemplate, SettlementEvent, Transaction
from settlement.services.events import EventInput, events_apply
from settlement.services.payouts import PayoutInput, payout_upsert
from settlement.services.transactions import NewTransaction, transaction_create
from settlement.staff.roles import Role, roles_ensure_groups

DEMO_CHANNELS = [("demo-acq", "示例收单 Demo Acquirer"), ("demo-pay", "示例支付 Demo Pay Platform")]
DEMO_MERCHANT_USER = ("merchant", "demo-merchant-pass")
DEMO_STAFF_USER = ("staff", "demo-staff-pass")
# One login per staff role (the superuser above is the admin).
DEMO_AGENT_USER = ("agent", "demo-agent-pass")
DEMO_SUPERVISOR_USER = ("supervisor", "demo-supervisor-pass")
DEMO_TEMPLATES = [
    ("延迟说明 Delay explained",
     "{merchant_name}您好：您的款项{amount}因{cause}延迟，预计{new_expected_by}前到账。工单号：{case_reference}。",
     "Hello {merchant_name}: your payment {amount} is late ({cause}); we expect it by {new_expected_by}. "
     "Case {case_reference}."),
    ("已到账 Arrived",
     "{merchant_name}您好：款项{amount}已到账，给您带来不便深表歉意。工单号：{case_reference}。",
     "Hello {merchant_name}: your payment {amount} has arrived. Sorry for the wait. Case {case_reference}."),
]
DEMO_MERCHANTS = [
    # merchant_no, name, channel index, cycle, account last4
    ("M100001", "老王便利店 Wang's Corner Shop", 0, Cycle.T1, "6021"),
    ("M100002", "川味小馆 Sichuan Kitchen", 0, Cycle.D1, "1187"),
    ("M100003", "鲜果坊 Fresh Fruit", 1, Cycle.T0, "5530"),
    ("M100004", "晨光文具 Morning Stationery", 1, Cycle.D0, "9042"),
]
SECRETS_FILE = Path(settings.VAR_DIR) / "demo_channels.json"
# The simulator verifies our status queries with these (simulate_acquirer reads them).
POLL_SECRETS_FILE = Path(settings.VAR_DIR) / "demo_poll_secrets.json"
DEMO_STUCK_FOR = timedelta(minutes=20)


def demo_loaded() -> bool:
    return Channel.objects.filter(code=DEMO_CHANNELS[0][0]).exists()


@db_transaction.atomic
def demo_load(*, seed: int = 7, swipes_per_merchant: int = 30, poll_base_url: str = "") -> dict:
    rng = random.Random(seed)
    now = timezone.now()
    secrets = {}
    poll_secrets = {}
    channels = []
    for i, (code, name) in enumerate(DEMO_CHANNELS):
        poll_url = f"{poll_base_url.rstrip('/')}/{code}/status" if poll_base_url else ""
        channel, secret = channel_create(code=code, name=name, poll_url=poll_url, poll_interval_seconds=15 + 5 * i)
        secrets[code] = secret
        poll_secrets[code] = channel.poll_secret
        channels.append(channel)

    User = get_user_model()
    merchant_user = User.objects.create_user(DEMO_MERCHANT_USER[0], password=DEMO_MERCHANT_USER[1])
    User.objects.create_superuser(DEMO_STAFF_USER[0], email="staff@example.com", password=DEMO_STAFF_USER[1])
    groups = roles_ensure_groups()
    User.objects.create_user(DEMO_AGENT_USER[0], password=DEMO_AGENT_USER[1], is_staff=True, first_name="小李")
    supervisor = User.objects.create_user(DEMO_SUPERVISOR_USER[0], password=DEMO_SUPERVISOR_USER[1], is_staff=True,
                                          first_name="王主管")
    supervisor.groups.add(groups[Role.SUPERVISOR])
    for name, zh, en in DEMO_TEMPLATES:
        ReplyTemplate.objects.create(name=name, body_zh=zh, body_en=en)

    for no, name, ch, cycle, last4 in DEMO_MERCHANTS:
        merchant = Merchant.objects.create(
            merchant_no=no, name=name, channel=channels[ch], settlement_cycle=cycle,
            fee_rate_bps=60, account_bank="招商银行 China Merchants Bank", account_holder=name.split()[0],
            account_last4=last4, contact_email=f"{no.lower()}@example.com", contact_phone="13800000000",
        )
        terminal = Terminal.objects.create(merchant=merchant, serial_number=f"SN{no[1:]}01")
        if no in ("M100001", "M100003"):  # the demo login owns two merchants, to show switching
            Membership.objects.create(user=merchant_user, merchant=merchant)
        _demo_swipes(rng, merchant, terminal, now, swipes_per_merchant)
        _demo_payouts(merchant, now, off_by=Decimal("0.01") if no == "M100001" else Decimal("0"))

    _demo_outage(Merchant.objects.get(merchant_no="M100002"), now)

    SECRETS_FILE.parent.mkdir(parents=True, exist_ok=True)
    SECRETS_FILE.write_text(json.dumps(secrets, indent=2))
    SECRETS_FILE.chmod(0o600)
    POLL_SECRETS_FILE.write_text(json.dumps(poll_secrets, indent=2))
    POLL_SECRETS_FILE.chmod(0o600)
    return secrets


def _demo_swipes(rng: random.Random, merchant: Merchant, terminal: Terminal, now, count: int) -> None:
    channel = merchant.channel
    for n in range(count):
        captured_at = now - timedelta(hours=rng.uniform(0.2, 24 * 10))
        amount = Decimal(rng.choice([18, 35, 68, 128, 299, 1280, 2450])) + Decimal(rng.randint(0, 99)) / 100
        txn = transaction_create(
            channel=channel,
            item=NewTransaction(
                reference=f"{merchant.merchant_no[1:]}{n:06d}",
                merchant=merchant,
                terminal=terminal,
                amount=amount,
                captured_at=captured_at,
                masked_pan=f"622202******{rng.randint(0, 9999):04d}",
                method=rng.choice(["chip", "contactless", "qr", "swipe"]),
            ),
        )
        # How far along it got: mostly on time; some stuck (they become the late ones).
        if txn.expected_by <= now:
            stop = rng.choices(["credited", "settled", "cleared", "held"], weights=[80, 10, 6, 4])[0]
        else:
            stop = rng.choice(["captured", "cleared", "settled"])
        path = {"captured": [], "cleared": ["cleared"], "settled": ["cleared", "settled"],
                "credited": ["cleared", "settled", "credited"], "held": ["cleared", "held"]}[stop]
        span = max(min(txn.expected_by, now) - captured_at, timedelta(minutes=10))
        events = [
            EventInput(
                event_id=f"demo-{txn.reference}-{i}",
                reference=txn.reference,
                type=EventType(kind),
                occurred_at=captured_at + span * (i + 1) / (len(path) + 1),
                reason="风控复核 risk review" if kind == "held" else "",
            )
            for i, kind in enumerate(path)
        ]
        if events:
            events_apply(channel=channel, events=events, source=SettlementEvent.Source.PUSH, now=now)
        if stop != "credited" and txn.expected_by <= now:
            # Stuck: the simulated acquirer is asked about it only after a while, so the
            # demo shows open late cases first and then their late arrival closing them.
            Transaction.objects.filter(pk=txn.pk).update(next_poll_at=now + DEMO_STUCK_FOR)


def _demo_payouts(merchant: Merchant, now, *, off_by: Decimal) -> None:
    """One bank credit per business day of settled swipes, posted as "sent" through the
    payout door: those whose swipes are all credited become credited by the
    credited-by-swipes rule, the others wait for their last swipe. `off_by` makes the
    oldest credit not add up, so the demo shows a stored discrepancy and its staff case."""
    days: dict = {}
    for txn in (Transaction.objects.filter(merchant=merchant, status__in=["settled", "credited"])
                .order_by("business_date", "id")):
        days.setdefault(txn.business_date, []).append(txn)
    for i, (day, txns) in enumerate(sorted(days.items())):
        payout_upsert(channel=merchant.channel, now=now, data=PayoutInput(
            reference=f"PO-{merchant.merchant_no}-{day:%Y%m%d}", merchant_no=merchant.merchant_no,
            amount=sum((t.net for t in txns), Decimal("0.00")) + (off_by if i == 0 else 0), status="sent",
            transaction_references=tuple(t.reference for t in txns),
            sent_at=max(t.settled_at or t.captured_at for t in txns),
        ))


DEMO_OUTAGE_SWIPES = 24  # above DELAYS_INCIDENT_THRESHOLD (20): the scan opens a channel incident


def _demo_outage(merchant: Merchant, now) -> None:
    """A lunch rush two days ago that the acquirer cleared and then sat on: all due by
    the same time, so the late scan groups them under one channel incident."""
    channel = merchant.channel
    terminal = merchant.terminals.first()
    start = timezone.localtime(now - timedelta(days=2)).replace(hour=12, minute=0, second=0, microsecond=0)
    for n in range(DEMO_OUTAGE_SWIPES):
        txn = transaction_create(channel=channel, item=NewTransaction(
            reference=f"{merchant.merchant_no[1:]}9{n:05d}", merchant=merchant, terminal=terminal,
            amount=Decimal(58 + 7 * n) + Decimal("0.50"), captured_at=start + timedelta(minutes=n),
            masked_pan=f"622848******{1000 + n:04d}", method="qr",
        ))
        events_apply(channel=channel, source=SettlementEvent.Source.PUSH, now=now, events=[EventInput(
            event_id=f"demo-{txn.reference}-0", reference=txn.reference, type=EventType.CLEARED,
            occurred_at=start + timedelta(minutes=n, seconds=30),
        )])
        Transaction.objects.filter(pk=txn.pk).update(next_poll_at=now + DEMO_STUCK_FOR)
