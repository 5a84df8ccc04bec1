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
