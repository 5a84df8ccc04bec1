"""Phone number + one-time code login (issue 13, item 8): a test SMS backend captures
the code; codes expire, work once, and wrong ones lock the phone out like a password."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from merchants.models import LoginCode, UserPhone
from merchants.sms import MemorySmsBackend

pytestmark = pytest.mark.django_db
PHONE = "13800138000"


@pytest.fixture
def sms(settings):
    settings.SMS_BACKEND = "merchants.sms.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()
    return MemorySmsBackend.outbox


@pytest.fixture
def phone_user(shop, merchant_user):
    UserPhone.objects.create(user=merchant_user, phone="86" + PHONE)
    return merchant_user


def _send(client, phone=PHONE):
    return client.post("/accounts/phone/", {"phone": phone})


def _code(sms) -> str:
    return re.search(r"\b(\d{6})\b", sms[-1][1]).group(1)


def _enter(client, code, phone=PHONE):
    return client.post("/accounts/phone/", {"phone": phone, "step": "code", "code": code})


def test_the_code_logs_in_once(client, sms, phone_user):
    assert _send(client, "+86 138-0013-8000").status_code == 200
    assert sms[0][0] == "86" + PHONE
    code = _code(sms)
    assert LoginCode.objects.get().code_hash != code  # only a keyed hash is stored
    response = _enter(client, code)
    assert response.status_code == 302 and client.get("/").url == "/m/"
    client.logout()
    assert _enter(client, code).status_code == 400  # reuse
    assert "_auth_user_id" not in client.session


def test_the_code_expires(client, sms, phone_user):
    _send(client)
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        assert _enter(client, _code(sms)).status_code == 400


def test_an_unknown_phone_gets_the_same_answer_and_no_sms(client, sms, phone_user):
    response = _send(client, "13900139000")
    assert response.status_code == 200 and sms == [] and 'name="code"' in response.content.decode()


def test_sending_is_rate_limited(client, sms, phone_user, settings):
    assert _send(client).status_code == 200
    assert _send(client).status_code == 400  # within a minute
    start = timezone.now()
    for i in range(1, settings.LOGIN_CODE_MAX_PER_HOUR):
        with time_machine.travel(start + timedelta(minutes=2 * i)):
            assert _send(client).status_code == 200
    with time_machine.travel(start + timedelta(minutes=2 * settings.LOGIN_CODE_MAX_PER_HOUR)):
        assert _send(client).status_code == 400
    assert len(sms) == settings.LOGIN_CODE_MAX_PER_HOUR


def test_wrong_codes_burn_the_code_and_lock_the_phone_out(client, sms, phone_user, settings):
    _send(client)
    good = _code(sms)
    wrong = f"{(int(good) + 1) % 10**6:06d}"
    for _ in range(5):
        assert _enter(client, wrong).status_code == 400
    # five wrong tries burn the code: even the right one no longer works
    assert _enter(client, good).status_code == 400
    # axes counts the failures per phone like a password login's: locked out at the limit
    start = timezone.now()
    for i in range(settings.AXES_FAILURE_LIMIT):
        with time_machine.travel(start + timedelta(minutes=2 * (i + 1))):
            _send(client)
            response = _enter(client, wrong)
    assert response.status_code in (403, 429)  # axes' lockout answer, as for the password login
    with time_machine.travel(start + timedelta(minutes=2 * (settings.AXES_FAILURE_LIMIT + 1))):
        _send(client)
        assert _enter(client, _code(sms)).status_code in (403, 429)
    assert "_auth_user_id" not in client.session
