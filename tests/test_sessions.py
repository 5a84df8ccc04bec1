"""Idle expiry: at most one session write per SESSION_REFRESH_SECONDS, never later
than SESSION_COOKIE_AGE after the last real request."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.utils import timezone

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _expiry() -> timezone.datetime:
    return Session.objects.get().expire_date


def test_expiry_moves_at_most_once_a_minute_and_ends_idle_sessions(client, merchant, settings):
    MembershipFactory(user=UserFactory(username="shopkeeper"), merchant=merchant)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        client.post("/accounts/login/", {"username": "shopkeeper", "password": "correct-horse-battery"})
        first = _expiry()
        clock.shift(timedelta(seconds=20))
        assert client.get("/m/").status_code == 200
        assert _expiry() == first  # no write within the refresh interval
        clock.shift(timedelta(seconds=settings.SESSION_REFRESH_SECONDS))
        assert client.get("/m/").status_code == 200
        assert _expiry() > first  # activity pushed the idle deadline
        clock.shift(timedelta(seconds=settings.SESSION_COOKIE_AGE + 1))
        assert client.get("/m/").status_code == 302  # idle too long: back to the login page
