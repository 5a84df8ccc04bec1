"""The staff merchant page (issue 13, item 8): /staff/merchants/<merchant_no>/ shows the
merchant's facts and memberships; a supervisor invites a user there (owner or cashier),
by email to contact_email or with a one-time link shown once for an SMS. An optional
mobile number is captured with the invitation and becomes the user's phone login."""

import re

import pytest
from django.core import mail

from merchants.invitations import InvitationError, invitation_accept, invitation_create
from merchants.models import Invitation, UserPhone
from merchants.phone_login import PhoneLoginError, login_code_check, login_code_send, normalize_cn_mobile
from merchants.sms import MemorySmsBackend
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
GOOD = "a-long-enough-passphrase"


def page_of(merchant) -> str:
    return f"/staff/merchants/{merchant.merchant_no}/"


def test_an_agent_sees_the_facts_and_memberships_but_cannot_invite(client, merchant, merchant_user, staff_user):
    cashier = UserFactory(username="till-7")
    MembershipFactory(user=cashier, merchant=merchant, role="cashier")
    UserPhone.objects.create(user=cashier, phone="8613800138000")
    client.force_login(staff_user)
    response = client.get(page_of(merchant), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 200
    assert merchant.name in body and merchant.merchant_no in body and merchant.contact_email in body
    assert "shopkeeper" in body and "till-7" in body and "Cashier" in body
    assert "···8000" in body and "13800138000" not in body  # the phone is masked
    assert 'id="invite-form"' not in body  # agents may look, not invite
    assert client.post(page_of(merchant), {"role": "owner"}).status_code == 403
    assert not Invitation.objects.exists()


def test_unknown_merchant_is_a_404_and_merchants_are_refused(client, merchant, merchant_user, staff_user):
    client.force_login(staff_user)
    assert client.get("/staff/merchants/NOPE999/").status_code == 404
    client.force_login(merchant_user)
    assert client.get(page_of(merchant)).status_code == 403


def test_a_supervisor_invites_by_email_to_the_contact_address(client, merchant, supervisor_user):
    client.force_login(supervisor_user)
    page = client.get(page_of(merchant)).content.decode()
    assert 'id="invite-form"' in page and f'value="{merchant.contact_email}"' in page
    response = client.post(page_of(merchant), {"role": "owner", "email": merchant.contact_email, "phone": ""},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    link = re.search(r"http://testserver(/invite/[\w-]+/)", response.content.decode()).group(1)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [merchant.contact_email] and link in mail.outbox[0].body
    assert "emailed" in response.content.decode()
    invitation = Invitation.objects.get()
    assert (invitation.role, invitation.created_by, invitation.phone) == ("owner", supervisor_user, "")
    # shown once: the page opened again has no link
    assert "/invite/" not in client.get(page_of(merchant)).content.decode()


def test_without_email_the_link_is_shown_for_an_sms_and_the_phone_logs_in(client, merchant, supervisor_user, settings):
    client.force_login(supervisor_user)
    response = client.post(page_of(merchant), {"role": "cashier", "email": "", "phone": "+86 139-0013 9000"},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200 and mail.outbox == []
    body = response.content.decode()
    link = re.search(r"http://testserver(/invite/[\w-]+/)", body).group(1)
    assert "SMS" in body
    invitation = Invitation.objects.get()
    assert invitation.role == "cashier" and invitation.phone == "13900139000"
    client.logout()
    assert client.post(link, {"username": "till2", "password1": GOOD, "password2": GOOD}).status_code == 302
    user = UserPhone.objects.get(phone="8613900139000").user
    assert user.username == "till2" and user.memberships.get().role == "cashier"
    # the phone + one-time code login finds the new user
    settings.SMS_BACKEND = "merchants.sms.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()
    login_code_send(phone="139 0013 9000")
    sent = MemorySmsBackend.outbox
    code = re.search(r"\d{6}", sent[0][1]).group(0)
    assert login_code_check(phone="13900139000", code=code) == user


@pytest.mark.parametrize("raw", ["13800138000", "+86 138 0013 8000", "0086-138-0013-8000", "86 13800138000",
                                 " 138-0013-8000 ", "+86（138）00138000", "１３８００１３８０００"])
def test_chinese_mobile_numbers_are_normalised(raw):
    assert normalize_cn_mobile(raw) == "13800138000"


@pytest.mark.parametrize("raw", ["1380013800", "138001380001", "23800138000", "+1 415 555 0100", "138abc38000",
                                 "+8613800138000x", "010-12345678", "++8613800138000"])
def test_other_numbers_are_refused_with_a_stable_code(raw):
    with pytest.raises(PhoneLoginError) as exc:
        normalize_cn_mobile(raw)
    assert exc.value.code == "phone_invalid"


def test_a_bad_phone_keeps_what_was_typed_and_invites_nobody(client, merchant, supervisor_user):
    client.force_login(supervisor_user)
    response = client.post(page_of(merchant), {"role": "owner", "email": "", "phone": "12345"},
                           HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 400 and 'data-code="phone_invalid"' in body and 'value="12345"' in body
    assert not Invitation.objects.exists()
    assert client.post(page_of(merchant), {"role": "boss"}).status_code == 400
    assert not Invitation.objects.exists()


def test_a_phone_that_already_logs_someone_in_is_refused(merchant, merchant_user):
    UserPhone.objects.create(user=merchant_user, phone="8613800138000")
    with pytest.raises(InvitationError) as exc:
        invitation_create(merchant=merchant, role="cashier", phone="138 0013 8000")
    assert exc.value.code == "phone_taken"
    with pytest.raises(InvitationError) as exc:
        invitation_create(merchant=merchant, role="cashier", phone="555")
    assert exc.value.code == "phone_invalid"


def test_a_phone_taken_meanwhile_does_not_block_the_link(merchant, merchant_user):
    new = invitation_create(merchant=merchant, role="cashier", phone="13800138000")
    UserPhone.objects.create(user=merchant_user, phone="8613800138000")
    user = invitation_accept(token=new.token, username="till3", password=GOOD)
    assert user.memberships.get().merchant == merchant and not UserPhone.objects.filter(user=user).exists()


def test_the_case_page_and_queue_link_to_the_merchant_page(client, staff_user):
    from tests.settlement.test_staff_pages import open_case

    case = open_case()
    client.force_login(staff_user)
    link = f'href="/staff/merchants/{case.merchant.merchant_no}/"'
    assert link in client.get(f"/staff/cases/{case.pk}/").content.decode()
    assert link in client.get("/staff/").content.decode()
