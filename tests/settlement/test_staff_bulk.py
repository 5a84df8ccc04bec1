"""Bulk actions (supervisors): each case its own history entry, set-based, and safe
when two supervisors act on overlapping selections at the same time."""

import threading

import pytest
from django.db import connection

from settlement.models import CaseEntry, FollowUpCase, Notification, ReplyTemplate
from settlement.services.bulk import cases_bulk_assign, cases_bulk_reply, cases_bulk_resolve
from tests.conftest import staff_with_role
from tests.factories import UserFactory
from tests.settlement.test_staff_pages import open_case


@pytest.mark.django_db
def test_bulk_assign_from_the_queue_gives_each_case_its_entry(client, supervisor_user, staff_user):
    cases = [open_case() for _ in range(3)]
    client.force_login(supervisor_user)
    response = client.post("/staff/bulk/", {"ids": [c.pk for c in cases[:2]], "action": "assign",
                                            "assignee": staff_user.pk, "next": "/staff/?view=unassigned"})
    assert response.status_code == 302 and response["Location"] == "/staff/?view=unassigned"
    assert set(FollowUpCase.objects.filter(assignee=staff_user).values_list("pk", flat=True)) == {
        cases[0].pk, cases[1].pk}
    assert CaseEntry.objects.filter(kind="assigned", data__bulk=True).count() == 2
    # an agent cannot
    client.force_login(staff_user)
    assert client.post("/staff/bulk/", {"ids": [cases[2].pk], "action": "escalate"}).status_code == 403


@pytest.mark.django_db
def test_bulk_reply_fills_the_template_per_case(supervisor_user):
    a, b = open_case(amount="10.00"), open_case(amount="20.00")
    template = ReplyTemplate.objects.create(name="t", body_zh="{case_reference} {amount}", body_en="{case_reference}")
    assert cases_bulk_reply(ids=[a.pk, b.pk], by=supervisor_user, template=template) == 2
    assert a.entries.get(kind="staff_reply").body == f"{a.reference} ¥10.00"
    assert b.entries.get(kind="staff_reply").body == f"{b.reference} ¥20.00"
    assert Notification.objects.filter(kind="case_update").count() == 2


@pytest.mark.django_db
def test_bulk_resolve_skips_cases_whose_swipe_disagrees(supervisor_user):
    a, b = open_case(), open_case()
    assert cases_bulk_resolve(ids=[a.pk, b.pk], by=supervisor_user, outcome="credited_late") == (0, 2)
    assert cases_bulk_resolve(ids=[a.pk, b.pk], by=supervisor_user, outcome="compensated") == (2, 0)
    assert cases_bulk_resolve(ids=[a.pk], by=supervisor_user, outcome="compensated") == (0, 1)
    assert CaseEntry.objects.filter(kind="resolved").count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_on_overlapping_selections(supervisor_user):
    other_lead = staff_with_role("lead2", "supervisor")
    x, y = UserFactory(username="x", is_staff=True), UserFactory(username="y", is_staff=True)
    cases = [open_case() for _ in range(6)]
    ids = [c.pk for c in cases]
    first, second = ids[:4], list(reversed(ids[2:]))  # overlap on ids[2:4], opposite orders
    barrier = threading.Barrier(2)
    errors = []

    def run(selection, to, by):
        try:
            barrier.wait()
            cases_bulk_assign(ids=selection, to=to, by=by)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(first, x, supervisor_user)),
               threading.Thread(target=run, args=(second, y, other_lead))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for case in FollowUpCase.objects.filter(pk__in=ids):
        entries = list(case.entries.filter(kind="assigned").order_by("created_at", "id").values_list("data", flat=True))
        expected = (1 if case.pk in first else 0) + (1 if case.pk in second else 0)
        assert len(entries) == expected  # one entry per action that touched it
        # the owner is the one named by the last action applied to it
        assert case.assignee.username == entries[-1]["to"]


@pytest.mark.django_db
def test_bulk_new_arrival_and_all_matching_the_filters(client, supervisor_user):
    from datetime import timedelta

    from django.utils import timezone

    a, b = open_case(amount="10.00"), open_case(amount="20.00")
    other = open_case(amount="30.00")
    client.force_login(supervisor_user)
    at = timezone.localtime() + timedelta(days=1)
    back = f"/staff/?q={a.merchant.merchant_no}"
    response = client.post("/staff/bulk/", {"all_matching": "on", "action": "new-arrival", "next": back,
                                            "at": at.strftime("%Y-%m-%dT%H:%M"), "reason": "bank batch"})
    assert response.status_code == 302
    assert list(FollowUpCase.objects.filter(new_expected_by__isnull=False).values_list("pk", flat=True)) == [a.pk]
    client.post("/staff/bulk/", {"ids": [b.pk, other.pk], "action": "new-arrival",
                                 "at": at.strftime("%Y-%m-%dT%H:%M"), "reason": "bank batch"})
    assert FollowUpCase.objects.filter(new_expected_by__isnull=False).count() == 3
    assert Notification.objects.filter(data__topic="new_arrival").count() == 3
    past = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/staff/bulk/", {"ids": [b.pk], "action": "new-arrival", "at": past, "reason": "x"},
                           follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "must be in the future" in response.content.decode()
    assert CaseEntry.objects.filter(kind="new_arrival").count() == 3
