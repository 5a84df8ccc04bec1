"""The simulator's daily settlement file (对账单) per channel and business date.

The lines are the swipes it generated for that business date (captured before the
23:00 cut-off, Asia/Shanghai, like our side), with the amounts and fees it pushed.
Seeded faults, the same for the same (seed, channel, date): a missing line, an extra
line we never heard of, an amount off by 0.01, a fee off by 0.05, a duplicated line.
Some files are GB18030 with Chinese headers (as many acquirers send them), and some
are late: not ready until hours after midnight.
"""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from channels.simulator.scenarios import rng_for
from channels.simulator.store import Store, dt, ts

TZ = ZoneInfo("Asia/Shanghai")
CUTOFF = time(23, 0)
ENGLISH = ["reference", "merchant_no", "terminal_sn", "amount", "fee", "net", "captured_at"]
CHINESE = ["交易参考号", "商户号", "终端号", "交易金额", "手续费", "结算金额", "交易时间"]
MIN_LINES_FOR_FAULTS = 6


@dataclass(frozen=True)
class FileFaults:
    """Which references got which fault (tests compare the run with these)."""

    missing: str = ""
    unknown: str = ""
    amount_off: str = ""
    fee_off: str = ""
    duplicated: str = ""
    gb18030: bool = False
    ready_at: datetime | None = None
    lines: list[str] = field(default_factory=list)


def business_window(day: date) -> tuple[datetime, datetime]:
    """Captures of business date `day`: from the cut-off of the day before to its own."""
    return (datetime.combine(day - timedelta(days=1), CUTOFF, tzinfo=TZ), datetime.combine(day, CUTOFF, tzinfo=TZ))


def plan_faults(*, seed: int, channel: str, day: date, faults: bool, late_hours: float,
                gb18030: bool | None) -> tuple[bool, datetime]:
    rng = rng_for(seed, channel, "file", day.isoformat())
    use_gb = (rng.random() < 0.5) if gb18030 is None else gb18030
    ready = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=TZ)
    return use_gb, ready + timedelta(hours=late_hours)


def unknown_reference(rng, day: date) -> str:
    """The extra line's reference. The date and the number are kept apart by a letter: run
    together, their 14 digits passed Luhn one time in ten, and the file was refused whole
    as holding a card number (full_pan_forbidden)."""
    return f"SIMX{day:%Y%m%d}N{rng.randrange(10**6):06d}"


def build(store: Store, *, channel: str, day: date, seed: int, faults: bool = True,
          gb18030: bool | None = None, late_hours: float = 0.0) -> tuple[bytes, FileFaults]:
    start, end = business_window(day)
    with store.lock:
        rows = store.db.execute(
            "SELECT reference, merchant_no, terminal_sn, amount, net, captured_at FROM swipes"
            " WHERE channel=? AND captured_at >= ? AND captured_at < ? AND merchant_no <> ''"
            " ORDER BY captured_at, reference", (channel, ts(start), ts(end)),
        ).fetchall()
    lines = [[ref, m, sn, Decimal(a), Decimal(a) - Decimal(n), Decimal(n), dt(c).astimezone(TZ)]
             for ref, m, sn, a, n, c in rows]
    use_gb, ready_at = plan_faults(seed=seed, channel=channel, day=day, faults=faults, late_hours=late_hours,
                                   gb18030=gb18030)
    info = FileFaults(gb18030=use_gb, ready_at=ready_at)
    if faults and len(lines) >= MIN_LINES_FOR_FAULTS:
        rng = rng_for(seed, channel, "faults", day.isoformat())
        # Among the day's first lines, so a file that grows during the day keeps its faults.
        missing, amount, fee, dup = rng.sample(range(MIN_LINES_FOR_FAULTS), 4)
        lines[amount][3] += Decimal("0.01")
        lines[amount][5] += Decimal("0.01")
        lines[fee][4] += Decimal("0.05")
        lines[fee][5] -= Decimal("0.05")
        template = lines[0]
        unknown = unknown_reference(rng, day)
        extra = [unknown, template[1], template[2], Decimal("88.88"), Decimal("0.53"), Decimal("88.35"),
                 template[6] + timedelta(seconds=7)]
        info = FileFaults(missing=lines[missing][0], unknown=unknown, amount_off=lines[amount][0],
                          fee_off=lines[fee][0], duplicated=lines[dup][0], gb18030=use_gb, ready_at=ready_at)
        lines = [ln for i, ln in enumerate(lines) if i != missing] + [extra, list(lines[dup])]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CHINESE if use_gb else ENGLISH)
    for ref, m, sn, amount, fee, net, at in lines:
        writer.writerow([ref, m, sn, f"{amount:.2f}", f"{fee:.2f}", f"{net:.2f}", at.strftime("%Y-%m-%d %H:%M:%S")])
    text = buffer.getvalue()
    info = FileFaults(**{**info.__dict__, "lines": [ln[0] for ln in lines]})
    return (text.encode("gb18030") if use_gb else text.encode("utf-8")), info
