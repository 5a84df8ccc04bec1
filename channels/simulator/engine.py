"""The simulator's engine: generates swipes, plans their fate, queues pushes and
delivers them in order per channel (a failed head blocks the rest of its channel, so a
merchant is pushed before its swipes and a swipe before its events)."""

import logging
import random
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from channels.simulator import settlement_file
from channels.simulator.push import PushClient, is_transient, new_webhook_id
from channels.simulator.scenarios import (
    Clock,
    Scenario,
    SimMerchant,
    Swipe,
    net_of,
    next_swipe,
    outage_mode,
    plan_swipe,
    rng_for,
)
from channels.simulator.store import Store, dt, ts

log = logging.getLogger(__name__)

MAX_NEW_PER_TICK = 200
EVENTS_PER_PUSH = 100


@dataclass
class SimChannel:
    code: str
    merchants: list[SimMerchant]
    client: PushClient | None = None
    bad_accounts: set[str] = field(default_factory=set)
    secret: str = ""  # signs pushes and status answers
    poll_secret: str = ""  # verifies the status queries it is sent

    def merchant(self, merchant_no: str) -> SimMerchant:
        for m in self.merchants:
            if m.merchant_no == merchant_no:
                return m
        return SimMerchant(merchant_no, merchant_no, "T1", "0000")


def now_utc() -> datetime:
    return datetime.now(UTC)


class Simulator:
    def __init__(self, *, channels: list[SimChannel], scenario: Scenario, seed: int, speed: float, rate: float,
                 store: Store, latency: float = 0.0, outage_override: tuple[float, float] | None = None,
                 hang_seconds: float = 20.0, start: datetime | None = None, adopt_unknown: bool = False,
                 file_faults: bool = True, file_late_hours: dict[str, float] | None = None,
                 file_intraday: bool = False):
        self.channels = {c.code: c for c in channels}
        # Settlement files (channels.simulator.settlement_file): seeded faults, and how
        # many hours after midnight each channel's file is late (none by default).
        self.file_faults = file_faults
        self.file_late_hours = dict(file_late_hours or {})
        self.file_intraday = file_intraday  # today's file so far is served too (make run's demo)
        self.scenario = scenario
        self.seed = seed
        self.rate = rate  # new swipes per minute per channel (real time)
        self.store = store
        self.latency = latency
        self.hang_seconds = hang_seconds
        # Answer for references we never generated (swipes made before we started, e.g.
        # by load_demo) as if captured at the first question: the demo's in-flight ones move.
        self.adopt_unknown = adopt_unknown
        self.stop_event = threading.Event()
        self.request_no = 0
        self.request_lock = threading.Lock()
        first = channels[0].code if channels else "-"
        stored = store.get_meta(first, "start")
        start = start or (dt(float(stored)) if stored else now_utc())
        self.clock = Clock(start=start, speed=speed)
        self.outage = (
            (start + timedelta(seconds=outage_override[0]), start + timedelta(seconds=outage_override[1]))
            if outage_override else self.clock.window(scenario.outage)
        )
        for c in channels:
            if not store.get_meta(c.code, "start"):
                store.set_meta(c.code, "start", str(ts(start)))
            if scenario.bad_account_merchants:
                picked = rng_for(seed, c.code, "bad").sample(
                    c.merchants, min(scenario.bad_account_merchants, len(c.merchants)))
                c.bad_accounts = {m.merchant_no for m in picked}

    # --- planning ------------------------------------------------------------------
    def add_swipe(self, channel: SimChannel, swipe: Swipe, *, adopted: bool = False) -> bool:
        merchant = channel.merchant(swipe.merchant_no)
        events, payouts = plan_swipe(
            scenario=self.scenario, clock=self.clock, seed=self.seed, channel=channel.code, swipe=swipe,
            merchant=merchant, bad_account=merchant.merchant_no in channel.bad_accounts,
        )
        if adopted:  # amount unknown: no payout to report; only learned by polling
            events = [replace(e, payout_reference="", push_at=None, duplicate=False) for e in events]
            payouts = []
        return self.store.add_swipe(channel.code, swipe, net_of(swipe.amount, merchant.fee_rate_bps), events, payouts)

    def inject(self, code: str, items: list[dict], *, push: bool = False) -> int:
        """Swipes that already exist elsewhere (tests, benchmarks): planned, not generated."""
        channel = self.channels[code]
        added = 0
        for item in items:
            swipe = Swipe(
                reference=item["reference"], merchant_no=item["merchant_no"], terminal_sn=item.get("terminal_sn", ""),
                amount=Decimal(str(item.get("amount", "100.00"))),
                captured_at=datetime.fromisoformat(item["captured_at"]) if item.get("captured_at") else now_utc(),
                masked_pan=item.get("masked_pan", ""), method=item.get("method", "chip"),
            )
            if self.add_swipe(channel, swipe):
                added += 1
                if push and channel.client:
                    self._queue_transactions(channel, [swipe], now_utc())
        return added

    def generate(self, channel: SimChannel, now: datetime) -> list[Swipe]:
        if self.rate <= 0 or not channel.merchants:
            return []
        done = int(self.store.get_meta(channel.code, "generated", "0"))
        due = int((now - self.clock.start).total_seconds() * self.rate / 60) + 1
        new = []
        for n in range(done, min(due, done + MAX_NEW_PER_TICK)):
            swipe = next_swipe(seed=self.seed, channel=channel.code, n=n, merchants=channel.merchants, at=now)
            if self.add_swipe(channel, swipe):
                new.append(swipe)
            self.store.set_meta(channel.code, "generated", str(n + 1))
        return new

    # --- pushing -------------------------------------------------------------------
    def queue_merchants(self, channel: SimChannel) -> None:
        if not channel.client:
            return
        now = now_utc()
        for m in channel.merchants:
            body = {
                "name": m.name, "settlement_cycle": m.cycle, "account_bank": "招商银行 China Merchants Bank",
                "account_holder": m.name.split()[0], "account_last4": m.account_last4,
                "fee_rate_bps": m.fee_rate_bps, "contact_email": f"{m.merchant_no.lower()}@example.com",
                "contact_phone": "13800000000", "terminals": [m.terminal_sn] if m.terminal_sn else [],
            }
            self.store.outbox_add(channel.code, webhook_id=new_webhook_id(), method="PUT",
                                  path=f"merchants/{m.merchant_no}", body=body, due_at=now)

    def _queue_transactions(self, channel: SimChannel, swipes: list[Swipe], now: datetime) -> None:
        body = {"transactions": [
            {"reference": s.reference, "merchant_no": s.merchant_no, "terminal_sn": s.terminal_sn,
             "amount": str(s.amount), "currency": "CNY", "masked_pan": s.masked_pan, "method": s.method,
             "captured_at": s.captured_at.isoformat()}
            for s in swipes
        ]}
        self.store.outbox_add(channel.code, webhook_id=new_webhook_id(), method="POST", path="transactions",
                              body=body, due_at=now)

    def queue_due(self, channel: SimChannel, now: datetime, new: list[Swipe]) -> None:
        if not channel.client:
            return
        if new:
            self._queue_transactions(channel, new, now)
        for payout in self.store.take_due_payouts(channel.code, now):
            self.store.outbox_add(channel.code, webhook_id=new_webhook_id(), method="POST", path="payouts",
                                  body=payout, due_at=now)
        events = self.store.take_due_pushes(channel.code, now)
        for i in range(0, len(events), EVENTS_PER_PUSH):
            chunk = events[i:i + EVENTS_PER_PUSH]
            dupes = [e for e in chunk if e["_duplicate"]]
            body = {"events": [_public(e) for e in chunk]}
            # A lost acknowledgement: the same request (same webhook-id) delivered twice.
            self.store.outbox_add(channel.code, webhook_id=new_webhook_id(), method="POST", path="events",
                                  body=body, due_at=now, repeat=bool(dupes))
            if dupes:  # and the same events again inside another request, a little later
                self.store.outbox_add(channel.code, webhook_id=new_webhook_id(), method="POST", path="events",
                                      body={"events": [_public(e) for e in dupes]},
                                      due_at=now + self.clock.span(0.2))

    def deliver_due(self, now: datetime) -> int:
        sent = 0
        blocked: set[str] = set()
        for item_id, code, webhook_id, method, path, body, attempts, repeat in self.store.outbox_due(now):
            channel = self.channels.get(code)
            if code in blocked or channel is None or channel.client is None:
                continue
            try:
                status = channel.client.send_once(method, path, body, webhook_id).status_code
            except Exception as exc:  # noqa: BLE001 - any failure is a retry
                log.info("push %s %s: %s", method, path, exc.__class__.__name__)
                status = 0
            if is_transient(status):
                delay = random.uniform(0, min(30.0, 0.5 * 2**attempts))  # full jitter
                self.store.outbox_again(item_id, now_utc() + timedelta(seconds=delay), str(status))
                blocked.add(code)
                continue
            sent += 1
            if status >= 400:
                log.warning("push %s %s refused with %s", method, path, status)
            if repeat:
                self.store.outbox_again(item_id, now_utc() + timedelta(seconds=0.3), str(status),
                                        count_attempt=False, clear_repeat=True)
            else:
                self.store.outbox_done(item_id, str(status))
        return sent

    # --- the loop ------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> None:
        now = now or now_utc()
        for channel in self.channels.values():
            new = self.generate(channel, now)
            self.queue_due(channel, now, new)
        self.deliver_due(now)

    def run(self, interval: float = 0.25) -> None:
        for channel in self.channels.values():
            self.queue_merchants(channel)
        while not self.stop_event.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("simulator tick failed")
            self.stop_event.wait(interval)

    # --- the status API ------------------------------------------------------------
    def next_request_no(self) -> int:
        with self.request_lock:
            self.request_no += 1
            return self.request_no

    def scenario_outage_mode(self, code: str, request_no: int) -> str:
        return outage_mode(seed=self.seed, channel=code, request_no=request_no)

    def in_outage(self, now: datetime) -> bool:
        return bool(self.outage and self.outage[0] <= now < self.outage[1])

    def status_answer(self, code: str, references: list[str], request_no: int) -> dict:
        """All events that happened so far, per reference; sometimes shuffled or repeated,
        as real acquirers' batch queries are."""
        known = self.store.events_known(code, references, now_utc())
        if self.adopt_unknown and len(known) < len(references):
            channel = self.channels[code]
            for ref in set(references) - set(known):
                self.add_swipe(channel, Swipe(ref, "", "", Decimal("0"), now_utc()), adopted=True)
            known = self.store.events_known(code, references, now_utc())
        rng = rng_for(self.seed, code, "answer", request_no)
        results = []
        for ref in references:
            events = known.get(ref)
            if events is None:
                results.append({"reference": ref, "found": False, "events": []})
                continue
            events = list(events)
            if len(events) > 1 and rng.random() < 0.3:
                rng.shuffle(events)
            if events and rng.random() < 0.1:
                events.append(dict(rng.choice(events)))
            results.append({"reference": ref, "found": True, "events": events})
        return {"results": results}


    # --- the settlement file ------------------------------------------------------------
    def settlement_file(self, code: str, day, now: datetime):
        """(bytes, faults) of the channel's file for business date `day`, or None before it is ready."""
        data, faults = settlement_file.build(self.store, channel=code, day=day, seed=self.seed,
                                             faults=self.file_faults, late_hours=self.file_late_hours.get(code, 0.0))
        today = now.astimezone(settlement_file.TZ).date()
        if self.file_intraday and day == today and not self.file_late_hours.get(code):
            return data, faults
        return None if now < faults.ready_at else (data, faults)


def _public(event: dict) -> dict:
    return {k: v for k, v in event.items() if not k.startswith("_") and (v or k not in ("payout_reference", "reason"))}

