"""Hypothesis strategies for valid lifecycles: event sequences an honest acquirer
could send, in the order things happened, with strictly increasing times."""

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

# From each in-order status, the events that may come next.
NEXT = {
    "captured": ["cleared", "held", "reversed", "refunded"],
    "cleared": ["settled", "held", "reversed", "refunded"],
    "settled": ["credited", "held", "returned"],
    "returned": ["settled", "held"],
}
AFTER = {"cleared": "cleared", "settled": "settled", "credited": "credited", "returned": "returned",
         "reversed": "reversed", "refunded": "refunded"}
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@st.composite
def lifecycles(draw, max_len: int = 9) -> list[tuple[str, datetime, str]]:
    """[(type, occurred_at, event_id)], a valid path from captured."""
    status, held_from = "captured", None
    at = START
    events = []
    for i in range(draw(st.integers(0, max_len))):
        if status in ("credited", "reversed", "refunded"):
            break
        options = ["released"] if status == "held" else NEXT[status]
        kind = draw(st.sampled_from(options))
        at += timedelta(minutes=draw(st.integers(1, 600)))
        events.append((kind, at, f"e{i}"))
        if kind == "held":
            held_from, status = status, "held"
        elif kind == "released":
            status, held_from = held_from, None
        else:
            status = AFTER[kind]
    return events


def arrivals(events, draw):
    """The same events as delivered: shuffled, some more than once."""
    delivered = list(events) + draw(st.lists(st.sampled_from(events), max_size=4)) if events else []
    return draw(st.permutations(delivered))


def in_order_status(events) -> str:
    status, held_from = "captured", None
    for kind, _, _ in events:
        if kind == "held":
            held_from, status = status, "held"
        elif kind == "released":
            status, held_from = held_from, None
        else:
            status = AFTER[kind]
    return status
