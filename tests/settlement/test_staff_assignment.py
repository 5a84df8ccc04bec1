"""Automatic assignment (off by default): new cases to agents on duty, least loaded
first, never above the cap."""

import pytest
from django.contrib.auth.models import Group

from settlement.models import FollowUpCase
from settlement.services.assignment import cases_auto_assign
from tests.factories import UserFactory
from tests.settlement.test_staff_pages import open_case

pytestmark = pytest.mark.django_db


def on_duty(name: str):
    user = UserFactory(username=name, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="on_duty")[0])
    return user


def test_off_by_default_assigns_nothing():
    on_duty("ann")
    open_case()
    assert cases_auto_assign() == 0
    assert FollowUpCase.objects.filter(assignee__isnull=True).count() == 1


def test_round_robin_by_load_under_the_cap(settings):
    settings.STAFF_AUTO_ASSIGN, settings.STAFF_AUTO_ASSIGN_CAP = True, 2
    ann, bob = on_duty("ann"), on_duty("bob")
    UserFactory(username="off", is_staff=True)  # not on duty: never gets one
    busy = open_case()
    FollowUpCase.objects.filter(pk=busy.pk).update(assignee=ann, status="claimed")
    for _ in range(4):
        open_case()
    assert cases_auto_assign() == 3  # ann has room for 1, bob for 2
    counts = {u.username: FollowUpCase.objects.filter(assignee=u).count() for u in (ann, bob)}
    assert counts == {"ann": 2, "bob": 2}
    assert FollowUpCase.objects.filter(assignee__isnull=True).count() == 1  # waits for room
    assert cases_auto_assign() == 0
    auto = FollowUpCase.objects.filter(assignee=bob).first().entries.get(kind="assigned")
    assert auto.data == {"to": "bob", "automatic": True}
