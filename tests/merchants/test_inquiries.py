from unittest import mock

import pytest
from django.db import IntegrityError

from settlement.models import CaseEntry, FollowUpCase
from settlement.references import case_reference
from settlement.services import inquiries
from settlement.services.inquiries import InquiryError, inquiry_open, inquiry_reply
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db


def test_opening_an_inquiry_creates_a_case_in_the_staff_queue(shop, merchant_user):
    result = inquiry_open(user=merchant_user, merchant=shop.merchant, transaction=shop.on_the_way, message="钱没到")
    case = result.case
    assert not result.joined
    assert case.origin == FollowUpCase.Origin.INQUIRY and case.status == FollowUpCase.Status.OPEN
    assert case.reference == case_reference(case.pk, case.opened_at)
    assert case.reference.startswith("C") and case.reference.endswith(f"-{case.pk:06d}")
    entry = result.entry
    assert entry.kind == CaseEntry.Kind.MERCHANT_MESSAGE and entry.visible_to_merchant and entry.body == "钱没到"
    # what the staff search finds it by, copied from the swipe
    assert case.card_last4 == shop.on_the_way.masked_pan[-4:] and case.due_at == shop.on_the_way.expected_by


def test_an_inquiry_about_a_swipe_with_an_open_case_joins_it(shop, merchant_user):
    result = inquiry_open(user=merchant_user, merchant=shop.merchant, transaction=shop.late, message="still late?")
    assert result.joined and result.case.pk == shop.case.pk
    assert FollowUpCase.objects.filter(transaction=shop.late).count() == 1


def test_losing_the_race_to_the_constraint_joins_the_winner(shop, merchant_user):
    # given the late scanner inserts its case after our look but before our insert
    txn = shop.on_the_way
    real_lookup = inquiries._open_case_for
    calls = {"n": 0}

    def racing_lookup(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            from tests.merchants.conftest import detected_case

            detected_case(txn)
            return None
        return real_lookup(**kwargs)

    with mock.patch.object(inquiries, "_open_case_for", side_effect=racing_lookup):
        result = inquiry_open(user=merchant_user, merchant=shop.merchant, transaction=txn, message="where?")
    # then the unique constraint refused a second open case and the message joined the first
    assert result.joined
    assert FollowUpCase.objects.filter(transaction=txn).count() == 1
    assert result.case.entries.filter(kind=CaseEntry.Kind.MERCHANT_MESSAGE).count() == 1


def test_the_constraint_really_refuses_a_second_open_case(shop, merchant_user):
    with pytest.raises(IntegrityError):
        FollowUpCase.objects.create(reference="dup", transaction=shop.late, merchant=shop.merchant,
                                    channel=shop.late.channel, opened_at=shop.case.opened_at,
                                    sla_due_at=shop.case.sla_due_at, last_action_at=shop.case.opened_at)


def test_payout_inquiry_and_reply(shop, merchant_user):
    first = inquiry_open(user=merchant_user, merchant=shop.merchant, payout=shop.payout, message="amount differs")
    again = inquiry_open(user=merchant_user, merchant=shop.merchant, payout=shop.payout, message="any news?")
    assert not first.joined and again.joined and again.case.pk == first.case.pk
    reply = inquiry_reply(user=merchant_user, merchant=shop.merchant, case=first.case, message="thanks")
    assert reply.case.pk == first.case.pk and first.case.entries.count() == 4  # opened + 3 messages


def test_reply_on_a_resolved_case_opens_a_new_one(shop, merchant_user):
    from django.utils import timezone

    FollowUpCase.objects.filter(pk=shop.case.pk).update(status="resolved", resolved_at=timezone.now())
    shop.case.refresh_from_db()
    result = inquiry_reply(user=merchant_user, merchant=shop.merchant, case=shop.case, message="it happened again")
    assert not result.joined and result.case.pk != shop.case.pk and result.case.transaction_id == shop.late.pk


@pytest.mark.parametrize(("message", "code"), [
    ("", "message_required"), ("   ", "message_required"), ("x" * 2001, "message_too_long"),
    ("my card 4111 1111 1111 1111", "full_pan_forbidden"),
    ("卡号６２２５８８０１２３４５６７８３", "full_pan_forbidden"),  # full-width, as Chinese input methods type
    ("6225 8801 2345 6783 123 没到账", "full_pan_forbidden"),  # card number and CVV
])
def test_bad_messages_are_refused_and_nothing_is_written(shop, merchant_user, message, code):
    with pytest.raises(InquiryError) as err:
        inquiry_open(user=merchant_user, merchant=shop.merchant, transaction=shop.on_the_way, message=message)
    assert err.value.code == code
    assert not FollowUpCase.objects.filter(transaction=shop.on_the_way).exists()


def test_another_merchants_swipe_is_refused(shop, other_shop, merchant_user):
    with pytest.raises(InquiryError) as err:
        inquiry_open(user=merchant_user, merchant=shop.merchant, transaction=other_shop.on_the_way, message="hi")
    assert err.value.code == "not_found"
    with pytest.raises(InquiryError):
        inquiry_open(user=merchant_user, merchant=shop.merchant, message="hi")


def test_api_inquiry_create_and_join(client, shop, merchant_user):
    client.force_login(merchant_user)
    created = client.post("/api/v1/merchant/inquiries/", {"transaction": shop.on_the_way.pk, "message": "?"},
                          content_type="application/json")
    assert created.status_code == 201 and created.json()["joined"] is False
    joined = client.post("/api/v1/merchant/inquiries/", {"transaction": shop.on_the_way.pk, "message": "??"},
                         content_type="application/json")
    assert joined.status_code == 200 and joined.json()["case"]["reference"] == created.json()["case"]["reference"]
    bad = client.post("/api/v1/merchant/inquiries/", {"transaction": shop.on_the_way.pk, "message": "4111111111111111"},
                      content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "full_pan_forbidden"
    none = client.post("/api/v1/merchant/inquiries/", {"message": "?"}, content_type="application/json")
    assert none.status_code == 400 and none.json()["error"]["code"] == "invalid"
    txn = make_transaction(merchant=shop.merchant)
    assert client.post("/api/v1/merchant/inquiries/", {"transaction": txn.pk + 1000, "message": "?"},
                       content_type="application/json").status_code == 404
