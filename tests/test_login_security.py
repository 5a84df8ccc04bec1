"""Lockout by the (username, address) pair; a per-username delay that never locks out."""

import pytest
from django.test import Client, RequestFactory

from config import login_security

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
RIGHT = "correct-horse-battery"


@pytest.fixture
def client_factory():
    return Client


@pytest.fixture
def sleeps(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(login_security, "sleep", slept.append)
    return slept


def attempt(client, password, ip, username="shopkeeper", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def test_the_attacker_locks_himself_out_and_the_victim_elsewhere_still_logs_in(client_factory, merchant_user, sleeps):
    attacker, victim = client_factory(), client_factory()
    # given: ten failures from the attacker's address (the tenth already answers 429)
    statuses = [attempt(attacker, "wrong", "203.0.113.9").status_code for _ in range(10)]
    assert statuses == [200] * 9 + [429]
    locked = attempt(attacker, RIGHT, "203.0.113.9", HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert "_auth_user_id" not in attacker.session
    # the lockout page is our translatable template, not axes' bare English line
    assert "registration/lockout.html" in [t.name for t in locked.templates]
    assert "Try again in 30 minutes" in locked.content.decode()
    chinese = attempt(attacker, RIGHT, "203.0.113.9", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "登录失败次数过多" in chinese and "30 分钟后再试" in chinese
    # when: the real user logs in from his own network
    response = attempt(victim, RIGHT, "198.51.100.7")
    # then: he is in (after at most the capped delay)
    assert response.status_code == 302
    assert victim.session["_auth_user_id"] == str(merchant_user.pk)
    assert sleeps and max(sleeps) <= 3.0


def test_a_strangers_typos_on_a_made_up_name_lock_nobody_else_out(client, merchant_user, sleeps):
    for _ in range(12):
        attempt(client, "wrong", "203.0.113.9", username="no-such-user")
    assert attempt(client, RIGHT, "203.0.113.9").status_code == 302


def test_failures_from_many_addresses_only_delay_the_username_up_to_the_cap(client, merchant_user, sleeps, settings):
    settings.LOGIN_USERNAME_DELAY_AFTER = 5
    for i in range(30):
        attempt(client, "wrong", f"203.0.113.{i + 1}")
    assert sleeps[0] == 0.5 and max(sleeps) == settings.LOGIN_USERNAME_DELAY_MAX_SECONDS
    assert login_security.username_delay_seconds("shopkeeper") == 3.0
    assert login_security.username_delay_seconds("someone-else") == 0.0
    assert attempt(client, RIGHT, "198.51.100.7").status_code == 302


def test_behind_the_proxy_each_client_address_is_its_own_pair(client_factory, merchant_user, sleeps, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    attacker, victim = client_factory(), client_factory()
    proxy = "10.0.0.2"  # every request reaches the app from the proxy
    for _ in range(10):
        attempt(attacker, "wrong", proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert attempt(attacker, RIGHT, proxy, HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 429
    # the attacker cannot dodge his lockout by sending his own X-Forwarded-For entry first
    assert attempt(attacker, RIGHT, proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9").status_code == 429
    assert attempt(victim, RIGHT, proxy, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 302


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (0, "1.2.3.4", "10.0.0.2"),  # no proxy: the header is the client's own words
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "6.6.6.6, 1.2.3.4", "1.2.3.4"),  # the client's own entries stay on the left
        (2, "6.6.6.6, 1.2.3.4, 10.0.0.1", "1.2.3.4"),
        (2, "1.2.3.4", "10.0.0.2"),  # fewer hops than proxies: not via our proxies
        (1, "not-an-ip", "10.0.0.2"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    assert login_security.client_ip(request) == expected
