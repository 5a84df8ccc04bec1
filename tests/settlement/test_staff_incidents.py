"""Incidents are first-class: the page shows merchants, money and a timeline; a
supervisor assigns all of its cases at once and posts an update that reaches every
affected merchant once (with revised arrivals where set)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from settlement.models import CaseEntry, ChannelIncident, FollowUpCase, Notification
from settlement.services.delays import delays_flag
from settlement.services.notifications import notification_render
from settlement.services.replies import case_set_new_arrival
from tests.factories import MerchantFactory, make_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(settings):
    settings.DELAYS_INCIDENT_THRESHOLD = 3
    first, second = MerchantFactory(name="鲜果坊"), MerchantFactory(name="川味小馆")
    second.channel = first.channel
    second.save()
    captured = timezone.now() - timedelta(days=4)
    for m in (first, first, second):
        make_transaction(merchant=m, captured_at=captured, amount="100.00")
    delays_flag(now=timezone.now())
    return ChannelIncident.objects.get()


def test_the_incident_page_shows_merchants_money_and_timeline(client, staff_user, incident):
    client.force_login(staff_user)
    html = client.get(f"/staff/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "鲜果坊" in html and "川味小馆" in html and "300.00" in html and 'id="incident-timeline"' in html
    assert 'id="incident-update-form"' not in html  # agents read, supervisors act
    queue = client.get("/staff/").content.decode()
    assert f"/staff/incidents/{incident.pk}/" in queue


def test_a_supervisor_assigns_all_and_posts_one_update_per_merchant(client, supervisor_user, staff_user, incident):
    case = FollowUpCase.objects.filter(incident=incident).order_by("id").first()
    promised = timezone.now() + timedelta(days=1)
    case_set_new_arrival(case=case, by=supervisor_user, at=promised, reason="bank batch")
    client.force_login(supervisor_user)
    response = client.post("/staff/bulk/", {"incident": incident.pk, "action": "assign", "assignee": staff_user.pk})
    assert response.status_code == 302
    assert FollowUpCase.objects.filter(incident=incident, assignee=staff_user).count() == 3
    assert client.post(f"/staff/incidents/{incident.pk}/update/", {"body": "渠道故障已修复，款项今日补发"}).status_code == 302
    updates = Notification.objects.filter(data__topic="incident_update")
    assert sorted(updates.values_list("merchant_id", flat=True)) == sorted(
        set(FollowUpCase.objects.filter(incident=incident).values_list("merchant_id", flat=True)))
    assert CaseEntry.objects.filter(data__incident=incident.pk, kind="staff_reply", visible_to_merchant=True).count() == 3
    mine = updates.get(merchant_id=case.merchant_id)
    _title, body = notification_render(mine)
    assert "渠道故障已修复" in body and case.transaction.reference in body
    assert timezone.localtime(promised).strftime("%Y-%m-%d %H:%M") in body
    html = client.get(f"/staff/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "incident-update" in html and "2 merchants" in html


def test_an_agent_cannot_post_an_incident_update(client, staff_user, incident):
    client.force_login(staff_user)
    assert client.post(f"/staff/incidents/{incident.pk}/update/", {"body": "x"}).status_code == 403
    assert not Notification.objects.filter(data__topic="incident_update").exists()
