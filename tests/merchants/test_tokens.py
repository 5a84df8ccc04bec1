"""Merchant API tokens (issue 15, item 5): knox digests at rest, shown once, expiring,
revoked by their owner, by staff (admin) or with a removed membership; creation limited
and audited; the old clear-text DRF tokens are gone."""

import re
from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken

from merchants.models import Membership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/merchant/transactions/"
REFUSED = (401, 403)  # session auth comes first: DRF answers 403 without a challenge


def _create(client) -> str:
    response = client.post("/m/tokens/", {"create": "1"})
    assert response.status_code == 200
    found = re.search(r'data-testid="new-token"><code>([^<]+)</code>', response.content.decode())
    assert found, response.content.decode()
    return found.group(1)


def _auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def test_a_token_is_shown_once_stored_as_a_digest_and_works(client, merchant_user, shop):
    client.force_login(merchant_user)
    token = _create(client)
    assert token.startswith("stk_")
    assert token not in client.get("/m/tokens/").content.decode()  # once
    row = AuthToken.objects.get(user=merchant_user)
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, token_key FROM knox_authtoken")
        assert all(token not in value for value in cursor.fetchone())
    assert row.expiry - timezone.now() > timedelta(days=29)
    client.logout()
    assert client.get(API, **_auth(token)).status_code == 200
    assert client.get(API, **_auth(token[:-1] + "x")).status_code in REFUSED


def test_an_expired_token_is_refused(client, merchant_user, shop):
    row, token = AuthToken.objects.create(user=merchant_user)
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get(API, **_auth(token)).status_code in REFUSED


def test_the_owner_revokes_a_token_and_only_their_own(client, merchant_user, outsider, shop):
    _row, token = AuthToken.objects.create(user=merchant_user)
    theirs, their_token = AuthToken.objects.create(user=outsider)
    client.force_login(merchant_user)
    listed = client.get("/m/tokens/").content.decode()
    assert AuthToken.objects.get(user=merchant_user).token_key[:8] in listed and their_token[:8] not in listed
    assert client.post("/m/tokens/", {"revoke": theirs.token_key}).status_code == 200
    assert AuthToken.objects.filter(pk=theirs.pk).exists()
    client.post("/m/tokens/", {"revoke": AuthToken.objects.get(user=merchant_user).token_key})
    client.logout()
    assert client.get(API, **_auth(token)).status_code in REFUSED


def test_a_cashier_has_no_token_page(client, shop):
    cashier = UserFactory(username="till")
    Membership.objects.create(user=cashier, merchant=shop.merchant, role="cashier")
    client.force_login(cashier)
    assert client.get("/m/tokens/").status_code == 403
    assert client.post("/m/tokens/", {"create": "1"}).status_code == 403
    assert not AuthToken.objects.exists()


def test_tokens_per_user_and_creations_per_hour_are_limited(client, merchant_user, shop, settings):
    settings.API_TOKENS_PER_USER, settings.API_TOKEN_CREATES_PER_HOUR = 2, 3
    client.force_login(merchant_user)
    _create(client), _create(client)
    assert client.post("/m/tokens/", {"create": "1"}).status_code == 400  # the third live token
    assert client.post("/m/tokens/", {"create": "1"}).status_code == 429  # the fourth request this hour
    assert AuthToken.objects.filter(user=merchant_user).count() == 2


def test_creating_and_revoking_are_audited_with_the_actor(client, merchant_user, shop):
    client.force_login(merchant_user)
    _create(client)
    client.post("/m/tokens/", {"revoke": AuthToken.objects.get().token_key})
    rows = LogEntry.objects.filter(content_type__model="authtoken").order_by("timestamp")
    assert [r.action for r in rows] == [LogEntry.Action.CREATE, LogEntry.Action.DELETE]
    assert {r.actor for r in rows} == {merchant_user}


def test_removing_a_membership_ends_its_users_tokens_and_sessions(client, merchant_user, shop):
    _row, token = AuthToken.objects.create(user=merchant_user)
    client.force_login(merchant_user)
    other = UserFactory(username="stays")
    Membership.objects.create(user=other, merchant=shop.merchant, role="cashier")
    AuthToken.objects.create(user=other)
    assert client.get("/m/").status_code == 200
    Membership.objects.filter(user=merchant_user).delete()
    assert client.get("/m/").status_code == 302  # logged out, to the login page
    assert client.get(API, **_auth(token)).status_code in REFUSED
    assert AuthToken.objects.filter(user=other).count() == 1 and Session.objects.count() == 0


def test_the_admin_shows_digests_only_and_staff_revoke(client, merchant_user, shop):
    _row, token = AuthToken.objects.create(user=merchant_user)
    boss = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(boss)
    page = client.get("/admin/knox/authtoken/").content.decode()
    row = AuthToken.objects.get()
    assert row.digest in page and token not in page and token[4:] not in page
    response = client.post("/admin/knox/authtoken/", {"action": "delete_selected", "_selected_action": [row.pk],
                                                      "post": "yes"})
    assert response.status_code == 302 and not AuthToken.objects.exists()
    assert client.get(API, **_auth(token)).status_code in REFUSED


def test_the_old_clear_text_tokens_are_gone(client, merchant_user, shop):
    with connection.cursor() as cursor:
        assert "authtoken_token" not in connection.introspection.table_names(cursor)
    assert client.get(API, HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567").status_code in REFUSED


# --- token requests: audited and throttled ---------------------------------------------
def _refusals(result: str | None = None):
    rows = LogEntry.objects.filter(content_type__model="authtoken", action=LogEntry.Action.ACCESS).order_by("pk")
    return [r for r in rows if result is None or r.additional_data["result"] == result]


@pytest.fixture
def security_lines(caplog):
    import logging

    logger = logging.getLogger("security")  # does not propagate: listen on it directly
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_a_refused_token_is_audited_who_from_where_when_and_the_result(client, merchant_user, shop, security_lines,
                                                                      supervisor_user):
    row, token = AuthToken.objects.create(user=merchant_user)
    expired, expired_token = AuthToken.objects.create(user=merchant_user)
    AuthToken.objects.filter(pk=expired.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    before = timezone.now()
    where = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get(API, **_auth(token[:-1] + ("x" if token[-1] != "x" else "y")), **where).status_code in REFUSED
    assert client.get(API, **_auth("stk_" + "0" * 60), **where).status_code in REFUSED
    assert client.get(API, **_auth(expired_token), **where).status_code in REFUSED
    assert client.get(API, HTTP_AUTHORIZATION="Token two parts", **where).status_code in REFUSED
    assert client.get(API, **_auth(token), **where).status_code == 200  # a good token is not a refusal

    rows = _refusals()
    assert [r.additional_data["result"] for r in rows] == [
        "wrong_secret_or_inactive", "unknown_or_expired", "unknown_or_expired", "malformed"]
    wrong = rows[0]
    assert (wrong.object_pk, wrong.remote_addr, wrong.actor) == (row.token_key, "203.0.113.7", None)
    assert wrong.additional_data["owner"] == merchant_user.username and wrong.additional_data["path"] == API
    assert wrong.timestamp >= before and token not in str(wrong.__dict__)
    assert rows[1].additional_data["owner"] is None
    lines = [r.getMessage() for r in security_lines.records if r.name == "security"]
    assert len(lines) == 4 and "result=wrong_secret_or_inactive" in lines[0] and "address=203.0.113.7" in lines[0]
    assert not any(token in line or token[15:] in line for line in lines)  # the key, never the secret

    client.force_login(supervisor_user)  # supervisors read them on the audit trail
    page = client.get("/staff/audit/", {"kind": "token"}).content.decode()
    assert "wrong_secret_or_inactive" in page and "203.0.113.7" in page and "unknown_or_expired" in page


def test_guessing_one_tokens_secret_is_throttled_by_the_pair_not_elsewhere(client, merchant_user, shop, settings):
    settings.API_TOKEN_FAILURES_PER_PAIR = 3
    _row, token = AuthToken.objects.create(user=merchant_user)
    attacker = {"REMOTE_ADDR": "198.51.100.9"}
    for guess in range(3):
        assert client.get(API, **_auth(token[:15] + f"{guess:0>49}"), **attacker).status_code in REFUSED
    throttled = client.get(API, **_auth(token[:15] + "9" * 49), **attacker)
    assert throttled.status_code == 429 and throttled.json()["error"]["code"] == "throttled"
    assert int(throttled["Retry-After"]) == settings.API_TOKEN_FAILURE_WINDOW_SECONDS
    assert client.get(API, **_auth(token), **attacker).status_code == 429  # the pair is held, unchecked
    assert client.get(API, **_auth(token), REMOTE_ADDR="192.0.2.44").status_code == 200  # the owner elsewhere
    assert [r.additional_data["result"] for r in _refusals()][-2:] == ["throttled", "throttled"]


def test_unknown_tokens_from_one_address_are_throttled_but_a_neighbours_real_token_works(
        client, merchant_user, shop, settings):
    settings.API_TOKEN_FAILURES_PER_ADDRESS = 5
    _row, token = AuthToken.objects.create(user=merchant_user)
    nat = {"REMOTE_ADDR": "100.64.0.1"}  # a carrier NAT: many shops behind one address
    for n in range(5):
        assert client.get(API, **_auth(f"stk_{n:0>11}" + "a" * 49), **nat).status_code in REFUSED
    assert client.get(API, **_auth("stk_99999999999" + "a" * 49), **nat).status_code == 429
    assert client.get(API, **_auth(token), **nat).status_code == 200  # an existing token is still checked
    assert client.get(API, **_auth("stk_88888888888" + "a" * 49), REMOTE_ADDR="100.64.0.2").status_code in REFUSED


def test_refused_token_creations_are_audited_too(client, merchant_user, shop, settings):
    settings.API_TOKENS_PER_USER, settings.API_TOKEN_CREATES_PER_HOUR = 1, 2
    client.force_login(merchant_user)
    _create(client)
    assert client.post("/m/tokens/", {"create": "1"}, REMOTE_ADDR="203.0.113.8").status_code == 400
    assert client.post("/m/tokens/", {"create": "1"}, REMOTE_ADDR="203.0.113.8").status_code == 429
    rows = _refusals()
    assert [(r.additional_data["result"], r.actor, r.remote_addr) for r in rows] == [
        ("too_many_tokens", merchant_user, "203.0.113.8"), ("too_many_token_requests", merchant_user, "203.0.113.8")]
