"""Scenarios: how long each stage takes and what goes wrong, in simulated hours.

Real time = simulated time / speed, so `--speed 1800` plays a T1 day in under a
minute. Every random choice comes from a `random.Random` seeded by (seed, what it is
about), so a seed replays the same swipes, fates, payouts and outages whatever the
timing of the process.
"""

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

Hours = tuple[float, float]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    clear_after: Hours = (0.3, 1.0)
    # From clearing to settlement, by the merchant's cycle.
    settle_after: dict[str, Hours] = field(
        default_factory=lambda: {"T0": (0.3, 0.8), "D0": (0.3, 0.8), "T1": (3.0, 6.0), "D1": (3.0, 6.0)}
    )
    payout_window: float = 1.0  # a merchant's swipes settled in one window merge into one payout (合并到账)
    bank_delay: Hours = (0.2, 0.6)  # from payout sent to bank credit
    push_share: float = 0.7  # the rest of the events are only learned by polling
    duplicate_share: float = 0.15  # deliveries repeated with the same webhook-id
    late_push_share: float = 0.2  # pushes held back, so they arrive out of order
    late_push_by: Hours = (0.5, 2.0)
    hold_share: float = 0.0
    hold_for: Hours = (2.0, 6.0)
    clearing_pause: Hours | None = None  # since start: nothing clears, then a burst
    outage: Hours | None = None  # since start: the status API times out or answers 5xx
    bad_account_merchants: int = 0  # payouts returned, re-paid after the account is fixed
    fix_after: Hours = (2.0, 4.0)


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("normal", "Everything on time; some events only learned by polling."),
        Scenario(
            "holiday_backlog",
            "Clearing pauses over a holiday (1-8 h after start), then clears the backlog in a burst.",
            clearing_pause=(1.0, 8.0),
        ),
        Scenario(
            "channel_outage",
            "The status API times out or answers 5xx from 0.5 h to 4 h after start; nothing is pushed then.",
            outage=(0.5, 4.0), push_share=0.3,
        ),
        Scenario("risk_holds", "A quarter of the swipes are held by risk control, released hours later.",
                 hold_share=0.25),
        Scenario("wrong_account", "One merchant's settlement account is wrong: credits are returned, "
                 "then re-paid after the account is corrected.", bad_account_merchants=1),
        Scenario("slow_bank", "The bank credits hours late.", bank_delay=(4.0, 9.0)),
    ]
}


def rng_for(seed: int, *about: object) -> random.Random:
    """A generator for one thing (a swipe, a payout), independent of call order."""
    digest = hashlib.sha256(":".join(map(str, (seed, *about))).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


@dataclass(frozen=True)
class Clock:
    """Maps simulated hours onto wall-clock time. All timestamps the simulator emits
    are real (our app refuses events from the future); only durations are compressed."""

    start: datetime
    speed: float

    def span(self, hours: float) -> timedelta:
        return timedelta(hours=hours) / self.speed

    def at(self, hours_since_start: float) -> datetime:
        return self.start + self.span(hours_since_start)

    def window(self, hours: Hours | None) -> tuple[datetime, datetime] | None:
        return (self.at(hours[0]), self.at(hours[1])) if hours else None


@dataclass(frozen=True)
class SimMerchant:
    merchant_no: str
    name: str
    cycle: str
    account_last4: str
    fee_rate_bps: int = 60
    terminal_sn: str = ""


@dataclass(frozen=True)
class Swipe:
    reference: str
    merchant_no: str
    terminal_sn: str
    amount: Decimal
    captured_at: datetime
    masked_pan: str = ""
    method: str = "chip"


@dataclass(frozen=True)
class PlannedEvent:
    event_id: str
    reference: str
    type: str
    occurred_at: datetime
    payout_reference: str = ""
    reason: str = ""
    push_at: datetime | None = None  # None: only learned by polling
    duplicate: bool = False


@dataclass(frozen=True)
class PlannedPayout:
    reference: str
    merchant_no: str
    sent_at: datetime
    status: str  # sent / returned
    at: datetime  # when this payout record is reported


CENT = Decimal("0.01")


def net_of(amount: Decimal, fee_rate_bps: int) -> Decimal:
    fee = (amount * fee_rate_bps / Decimal(10000)).quantize(CENT, rounding=ROUND_HALF_UP)
    return amount - fee


def _hours(rng: random.Random, span: Hours) -> float:
    return rng.uniform(*span)


def plan_swipe(
    *, scenario: Scenario, clock: Clock, seed: int, channel: str, swipe: Swipe, merchant: SimMerchant,
    bad_account: bool,
) -> tuple[list[PlannedEvent], list[PlannedPayout]]:
    """Every event of one swipe, with when it happens and whether/when it is pushed."""
    rng = rng_for(seed, channel, "swipe", swipe.reference)
    cleared_at = swipe.captured_at + clock.span(_hours(rng, scenario.clear_after))
    pause = clock.window(scenario.clearing_pause)
    if pause and pause[0] <= cleared_at < pause[1]:
        cleared_at = pause[1] + clock.span(rng.uniform(0, 0.5))  # the burst after the holiday
    steps: list[tuple[str, datetime, str, str]] = [("cleared", cleared_at, "", "")]
    ready_at = cleared_at
    if rng.random() < scenario.hold_share:
        held_at = cleared_at + clock.span(rng.uniform(0.05, 0.3))
        released_at = held_at + clock.span(_hours(rng, scenario.hold_for))
        steps += [("held", held_at, "", "风控复核 risk review"), ("released", released_at, "", "风控放行 risk cleared")]
        ready_at = released_at
    settled_at = ready_at + clock.span(_hours(rng, scenario.settle_after.get(merchant.cycle, (3.0, 6.0))))
    steps.append(("settled", settled_at, "", ""))

    window_len = clock.span(scenario.payout_window)
    index = max(0, int((settled_at - clock.start) / window_len))
    payout_ref = f"PO-{channel}-{merchant.merchant_no}-{index:05d}"
    sent_at = clock.start + window_len * (index + 1)
    prng = rng_for(seed, channel, "payout", payout_ref)  # shared by the payout's swipes
    credit_at = sent_at + clock.span(_hours(prng, scenario.bank_delay))
    payouts = [PlannedPayout(payout_ref, merchant.merchant_no, sent_at, "sent", sent_at)]
    if bad_account:
        steps.append(("returned", credit_at, payout_ref, "账户信息有误 wrong settlement account"))
        repaid_at = credit_at + clock.span(_hours(prng, scenario.fix_after))
        repay_ref = payout_ref + "-R"
        payouts += [
            PlannedPayout(payout_ref, merchant.merchant_no, sent_at, "returned", credit_at),
            PlannedPayout(repay_ref, merchant.merchant_no, repaid_at, "sent", repaid_at),
        ]
        steps.append(("settled", repaid_at, "", "账户已更正 account corrected, re-paid"))
        steps.append(("credited", repaid_at + clock.span(_hours(prng, scenario.bank_delay)), repay_ref, ""))
    else:
        steps.append(("credited", credit_at, payout_ref, ""))

    events = []
    for n, (kind, at, payout, reason) in enumerate(steps):
        push_at = None
        if rng.random() < scenario.push_share:
            push_at = at
            if rng.random() < scenario.late_push_share:
                push_at = at + clock.span(_hours(rng, scenario.late_push_by))
        events.append(PlannedEvent(
            event_id=f"{swipe.reference}-{n}-{kind}", reference=swipe.reference, type=kind, occurred_at=at,
            payout_reference=payout, reason=reason, push_at=push_at,
            duplicate=push_at is not None and rng.random() < scenario.duplicate_share,
        ))
    return events, payouts


def next_swipe(*, seed: int, channel: str, n: int, merchants: list[SimMerchant], at: datetime) -> Swipe:
    rng = rng_for(seed, channel, "new", n)
    merchant = merchants[rng.randrange(len(merchants))]
    amount = Decimal(rng.choice([18, 35, 68, 128, 299, 1280, 2450])) + Decimal(rng.randint(0, 99)) / 100
    return Swipe(
        reference=f"S{seed % 1000:03d}{n:08d}",
        merchant_no=merchant.merchant_no,
        terminal_sn=merchant.terminal_sn,
        amount=amount,
        captured_at=at,
        masked_pan=f"622202******{rng.randint(0, 9999):04d}",
        method=rng.choice(["chip", "contactless", "qr", "swipe"]),
    )


def outage_mode(*, seed: int, channel: str, request_no: int) -> str:
    """During an outage the status API alternates between hanging and answering 5xx."""
    return "hang" if rng_for(seed, channel, "outage", request_no).random() < 0.4 else "error"
