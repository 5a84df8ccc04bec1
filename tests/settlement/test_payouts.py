"""The payout door (settlement.services.payouts): status table, trail, constraints,
the credited-by-swipes rule, stored discrepancies, the admin, and set-based cost."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.lifecycle import Status
from settlement.models import FollowUpCase, Payout, PayoutDiscrepancy, PayoutEvent, Transaction
from settlement.payout_lifecycle import ALLOWED_MOVES, CREDITED_BY_SWIPES_RULE, PayoutStatus, Verdict, payout_judge
from settlement.services.delays import delays_flag
from settlement.services.events import EventInput, events_apply
from settlement.services.payouts import PayoutInput, payout_upsert
from tests.factories import MerchantFactory, UserFactory, make_transaction, push

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def post(merchant, reference="PO-1", *, status="sent", refs=(), amount=None, at=None, **extra):
    txns = list(Transaction.objects.filter(merchant=merchant, reference__in=refs))
    total = sum((t.net for t in txns), Decimal("0.00"))
    return payout_upsert(channel=merchant.channel, data=PayoutInput(
        reference=reference, merchant_no=merchant.merchant_no, amount=total if amount is None else Decimal(amount),
        status=status, transaction_references=tuple(refs) if refs is not None else None, occurred_at=at, **extra,
    ))


# --- the table --------------------------------------------------------------------
@pytest.mark.parametrize("current, new, verdict", [
    ("pending", "sent", Verdict.APPLIED),
    ("sent", "credited", Verdict.APPLIED),
    ("sent", "returned", Verdict.APPLIED),
    ("returned", "sent", Verdict.APPLIED),  # sent again after the fix
    ("sent", "pending", Verdict.STALE),  # backwards
    ("credited", "sent", Verdict.STALE),  # the retry of the issue: credited is final
    ("credited", "returned", Verdict.STALE),
    ("pending", "returned", Verdict.STALE),  # never sent
    ("sent", "sent", Verdict.UNCHANGED),
])
def test_the_payout_table(current, new, verdict):
    assert payout_judge(current=current, current_at=T0, new=new, new_at=T0 + timedelta(hours=1)) == verdict


def test_a_move_older_than_the_current_status_is_stale_even_if_allowed():
    assert payout_judge(current="sent", current_at=T0, new="credited", new_at=T0 - timedelta(minutes=1)) == "stale"
    assert payout_judge(current="sent", current_at=T0, new="sent", new_at=T0 - timedelta(minutes=1)) == "stale"
    assert not ALLOWED_MOVES[PayoutStatus.CREDITED]


# --- constraints ------------------------------------------------------------------
def test_credited_at_is_set_iff_credited_in_the_database(merchant):
    payout = post(merchant).payout
    with pytest.raises(IntegrityError), db_transaction.atomic():
        Payout.objects.filter(pk=payout.pk).update(credited_at=timezone.now())
    with pytest.raises(IntegrityError), db_transaction.atomic():
        Payout.objects.filter(pk=payout.pk).update(status="credited")


def test_one_open_data_error_case_per_payout_in_the_database(merchant):
    txn = make_transaction(merchant=merchant)
    payout = post(merchant, refs=[txn.reference], amount="1.00").payout
    case = FollowUpCase.objects.get(payout=payout)
    with pytest.raises(IntegrityError), db_transaction.atomic():
        FollowUpCase.objects.create(
            reference="X-1", payout=payout, merchant=merchant, channel=merchant.channel, cause="data_error",
            opened_at=case.opened_at, sla_due_at=case.sla_due_at, last_action_at=case.opened_at)


def test_one_open_discrepancy_per_payout_in_the_database(merchant):
    txn = make_transaction(merchant=merchant)
    payout = post(merchant, refs=[txn.reference], amount="1.00").payout
    with pytest.raises(IntegrityError), db_transaction.atomic():
        PayoutDiscrepancy.objects.create(payout=payout, amount=1, expected=2, difference=-1, found_at=T0,
                                         updated_at=T0)


# --- the rule and the trail -------------------------------------------------------
def test_a_payout_posted_after_its_swipes_arrived_is_credited_at_once(merchant):
    a, b = make_transaction(merchant=merchant), make_transaction(merchant=merchant)
    now = timezone.now()
    for txn in (a, b):
        push(txn, "settled", now - timedelta(hours=3))
        push(txn, "credited", now - timedelta(hours=1))
    result = post(merchant, refs=[a.reference, b.reference], at=now - timedelta(hours=2))
    assert result.payout.status == "credited" and result.payout.credited_at == now - timedelta(hours=1)
    assert list(result.payout.events.filter(kind="status").values_list("source", "to_status", "rule")) == [
        ("push", "sent", ""), ("system", "credited", CREDITED_BY_SWIPES_RULE)]


def test_a_payout_with_no_swipes_is_never_credited_by_the_rule(merchant):
    assert post(merchant, refs=[], amount="0.00").payout.status == "sent"


def test_every_link_change_is_a_payout_event(merchant):
    a, b = make_transaction(merchant=merchant), make_transaction(merchant=merchant)
    post(merchant, refs=[a.reference, b.reference])
    post(merchant, refs=[b.reference], amount=str(b.net))
    post(merchant, refs=[a.reference, b.reference], amount=str(a.net + b.net))
    trail = list(PayoutEvent.objects.exclude(kind="status").values_list("kind", "transaction__reference", "reason"))
    assert trail == [("linked", a.reference, "listed"), ("linked", b.reference, "listed"),
                     ("unlinked", a.reference, "dropped"), ("amended", None, ""),
                     ("linked", a.reference, "listed"), ("amended", None, "")]


def test_an_event_naming_another_payout_moves_the_swipe_with_a_trail(merchant):
    txn = make_transaction(merchant=merchant)
    post(merchant, "PO-A", refs=[txn.reference])
    post(merchant, "PO-B", refs=[], amount=str(txn.net))
    push(txn, "settled", payout_reference="PO-B")
    assert txn.payout.reference == "PO-B"
    rows = list(PayoutEvent.objects.filter(transaction=txn).values_list("payout__reference", "kind", "reason"))
    assert rows[-2:] == [("PO-A", "unlinked", "moved"), ("PO-B", "linked", "event")]
    assert not PayoutDiscrepancy.objects.filter(resolved_at=None, payout__reference="PO-B").exists()
    assert PayoutDiscrepancy.objects.get(resolved_at=None).payout.reference == "PO-A"  # now 0 swipes for its amount


def test_another_merchants_payout_is_never_linked_by_an_event(merchant):
    txn = make_transaction(merchant=merchant)
    other = MerchantFactory(channel=merchant.channel)
    post(other, "PO-THEIRS", refs=[], amount="0.00")
    push(txn, "settled", payout_reference="PO-THEIRS")
    assert txn.payout is None and txn.pending_payout_reference == ""


# --- discrepancies feed the late scan -----------------------------------------------
def test_the_late_scan_reads_the_stored_discrepancy(merchant):
    late = make_transaction(merchant=merchant, captured_at=timezone.now() - timedelta(days=6))
    push(late, "settled", timezone.now() - timedelta(days=5))
    post(merchant, refs=[late.reference], amount=str(late.net + 1))
    delays_flag()
    case = FollowUpCase.objects.get(transaction=late)
    assert case.cause == "data_error" and case.cause_evidence["payout"]["difference"] == "1.00"


def test_a_changed_amount_outside_the_door_is_not_a_discrepancy_for_the_scan(merchant):
    late = make_transaction(merchant=merchant, captured_at=timezone.now() - timedelta(days=6))
    push(late, "settled", timezone.now() - timedelta(days=5))
    payout = post(merchant, refs=[late.reference]).payout
    Payout.objects.filter(pk=payout.pk).update(amount=late.net + 1)  # not through the door: no stored fact
    delays_flag()
    assert FollowUpCase.objects.get(transaction=late).cause == "bank_processing"


# --- the admin edits nothing ---------------------------------------------------------
def test_the_admin_shows_payouts_and_trails_but_cannot_change_them(client, merchant):
    txn = make_transaction(merchant=merchant)
    payout = post(merchant, refs=[txn.reference]).payout
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    for url in (f"/admin/settlement/payout/{payout.pk}/change/", "/admin/settlement/payoutevent/",
                "/admin/settlement/payoutdiscrepancy/", f"/admin/settlement/transaction/{txn.pk}/change/"):
        assert client.get(url).status_code == 200, url
    for model in ("payout", "payoutevent", "payoutdiscrepancy", "transaction", "settlementevent"):
        assert client.get(f"/admin/settlement/{model}/add/").status_code == 403, model
    client.post(f"/admin/settlement/payout/{payout.pk}/change/", {"status": "credited", "amount": "1.00"})
    client.post(f"/admin/settlement/payout/{payout.pk}/delete/", {"post": "yes"})
    payout.refresh_from_db()
    assert (payout.status, payout.amount) == ("sent", txn.net)


# --- set-based: the cost of a post does not grow with its swipes ------------------------
def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_a_payout_post_costs_the_same_for_2_or_40_swipes(merchant):
    few = [make_transaction(merchant=merchant).reference for _ in range(2)]
    many = [make_transaction(merchant=merchant).reference for _ in range(40)]
    cost = [_queries(lambda refs=refs, ref=ref: post(merchant, ref, refs=refs, amount="1.00"))
            for ref, refs in (("PO-F", few), ("PO-M", many))]
    assert cost[0] == cost[1]
    cost = [_queries(lambda refs=refs, ref=ref: post(merchant, ref, refs=refs[:1]))
            for ref, refs in (("PO-F", few), ("PO-M", many))]  # re-posts that drop swipes
    assert cost[0] == cost[1]


def test_an_event_batch_naming_payouts_costs_the_same_for_3_or_30_swipes(merchant):
    now = timezone.now()
    counts = []
    for n, tag in ((3, "S"), (30, "L")):
        txns = [make_transaction(merchant=merchant) for _ in range(n)]
        post(merchant, f"PO-{tag}", refs=[t.reference for t in txns])
        events = [EventInput(f"{tag}-{t.reference}", t.reference, "credited", now - timedelta(minutes=1),
                             payout_reference=f"PO-{tag}") for t in txns]
        counts.append(_queries(lambda events=events: events_apply(channel=merchant.channel, events=events,
                                                                   source="push")))
        assert Payout.objects.get(reference=f"PO-{tag}").status == "credited"
    assert counts[0] == counts[1]


def test_an_event_batch_that_names_no_payout_and_credits_nothing_costs_nothing_more(merchant):
    txn = make_transaction(merchant=merchant)
    event = EventInput("plain-1", txn.reference, "cleared", timezone.now() - timedelta(minutes=5))
    with CaptureQueriesContext(connection) as ctx:
        events_apply(channel=merchant.channel, events=[event], source="push")
    assert not [q for q in ctx.captured_queries if "settlement_payout" in q["sql"]]


# --- any order of payout posts and swipe credits --------------------------------------
posts = st.tuples(st.just("post"), st.sampled_from(["pending", "sent", "returned", "credited"]),
                  st.integers(0, 6), st.sets(st.integers(0, 2)))
credits = st.tuples(st.just("credit"), st.integers(0, 2), st.integers(0, 6), st.booleans())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(posts, credits), min_size=1, max_size=10))
def test_any_order_of_payout_posts_and_swipe_credits_never_goes_backwards(merchant, steps):
    now = timezone.now()
    txns = [make_transaction(merchant=merchant, captured_at=now - timedelta(days=2)) for _ in range(3)]
    reference = f"PO-H{txns[0].pk}"
    seen: list[str] = []
    for step in steps:
        at = now - timedelta(hours=10 - step[2])
        if step[0] == "post":
            _kind, status, _hour, members = step
            post(merchant, reference, status=status, refs=[txns[i].reference for i in sorted(members)], at=at,
                 amount="1.00")
        else:
            _kind, i, _hour, named = step
            events_apply(channel=merchant.channel, source="push", events=[EventInput(
                f"{reference}-{i}-{step[2]}", txns[i].reference, "credited", at,
                payout_reference=reference if named else "")])
        payout = Payout.objects.filter(reference=reference).first()
        if payout is None:
            continue
        # credited_at is set iff credited
        assert (payout.credited_at is not None) == (payout.status == "credited")
        if seen:
            previous = seen[-1]
            assert payout.status == previous or payout.status in ALLOWED_MOVES[previous], (previous, payout.status)
        seen.append(payout.status)
    # every status change is an applied PayoutEvent, and they chain along the table
    payout = Payout.objects.filter(reference=reference).first()
    if payout is not None:
        chain = list(payout.events.filter(kind="status", outcome="applied").order_by("id")
                     .values_list("from_status", "to_status"))
        assert chain[0][0] == "" and chain[-1][1] == payout.status
        assert all(b in ALLOWED_MOVES[a] for a, b in chain[1:])
        assert all(prev[1] == nxt[0] for prev, nxt in zip(chain, chain[1:], strict=False))
    # a payout whose every swipe is credited is credited (the rule), unless the bank returned it
    if payout is not None and payout.status in ("pending", "sent"):
        linked = Transaction.objects.filter(payout=payout)
        assert not linked.exists() or linked.exclude(status=Status.CREDITED).exists()


def test_staff_find_the_data_error_case_of_a_discrepancy(client, merchant):
    txn = make_transaction(merchant=merchant)
    post(merchant, "PO-OFF", refs=[txn.reference], amount=str(txn.net + Decimal("0.01")))
    case = FollowUpCase.objects.get(payout__reference="PO-OFF")
    client.force_login(UserFactory(username="agent", is_staff=True))
    queue = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert case.reference in queue
    page = client.get(f"/staff/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "PO-OFF" in page and "The payout amount differs from the sum of its swipes." in page
