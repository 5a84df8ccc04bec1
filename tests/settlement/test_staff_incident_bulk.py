"""All of an incident at once (issue 11): on the incident page a supervisor replies with
a template, sets a new arrival, escalates or resolves every open case of the incident
through the bulk service (each case its own history entry), and the incident timeline
shows what was done to its cases, grouped and bounded."""

from datetime import timedelta

import pytest
from django.utils import timezone

from settlement.models import CaseEntry, FollowUpCase, Notification, ReplyTemplate
from settlement.services.cases import case_resolve
from settlement.services.incident_updates import incident_case_events, incident_post_update
from tests.settlement.test_staff_incidents import incident  # noqa: F401 - the fixture
from tests.settlement.test_staff_pages import open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def outsider_case(incident):  # noqa: F811
    """An open case outside the incident: bulk actions on the incident never touch it."""
    return open_case()


def _incident_cases(incident):  # noqa: F811
    return FollowUpCase.objects.filter(incident=incident).order_by("id")


def _post(client, incident, **data):  # noqa: F811
    return client.post("/staff/bulk/", {"incident": incident.pk, "next": f"/staff/incidents/{incident.pk}/", **data})


def test_the_incident_page_offers_every_bulk_action_to_supervisors_only(client, supervisor_user, staff_user,
                                                                       incident):  # noqa: F811
    ReplyTemplate.objects.create(name="渠道延迟", body_zh="{case_reference} 延迟", body_en="{case_reference} late")
    client.force_login(supervisor_user)
    html = client.get(f"/staff/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    form = html[html.index('id="incident-bulk-form"'):]
    form = form[:form.index("</form>")]
    assert f'name="incident" value="{incident.pk}"' in form
    for action in ("assign", "reply", "new-arrival", "escalate", "resolve"):
        assert f'<option value="{action}">' in form
    assert "渠道延迟" in form and 'value="credited_late"' in form and 'name="ids"' not in form
    client.force_login(staff_user)
    assert 'id="incident-bulk-form"' not in client.get(f"/staff/incidents/{incident.pk}/").content.decode()
    assert _post(client, incident, action="escalate").status_code == 403


def test_reply_with_a_template_to_every_case_of_the_incident(client, supervisor_user, incident,  # noqa: F811
                                                             outsider_case):
    template = ReplyTemplate.objects.create(name="t", body_zh="{case_reference} 渠道延迟", body_en="{case_reference}")
    client.force_login(supervisor_user)
    assert _post(client, incident, action="reply", template=template.pk).status_code == 302
    for case in _incident_cases(incident):
        reply = case.entries.get(kind=CaseEntry.Kind.STAFF_REPLY)
        assert reply.visible_to_merchant and reply.body.startswith(case.reference)
    assert not outsider_case.entries.filter(kind=CaseEntry.Kind.STAFF_REPLY).exists()
    assert Notification.objects.filter(data__topic="reply").count() == 3


def test_set_a_new_arrival_escalate_and_resolve_all_of_an_incident(client, supervisor_user, incident,  # noqa: F811
                                                                   outsider_case):
    client.force_login(supervisor_user)
    at = timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert _post(client, incident, action="new-arrival", at=at, reason="银行批次延迟").status_code == 302
    assert _post(client, incident, action="escalate").status_code == 302
    assert _post(client, incident, action="resolve", outcome="compensated").status_code == 302
    cases = list(_incident_cases(incident))
    assert len(cases) == 3
    for case in cases:
        assert case.new_expected_by is not None and case.new_expected_reason == "银行批次延迟"
        assert case.status == FollowUpCase.Status.RESOLVED and case.outcome == "compensated"
        kinds = list(case.entries.filter(data__bulk=True).values_list("kind", flat=True).order_by("id"))
        assert kinds == [CaseEntry.Kind.NEW_ARRIVAL, CaseEntry.Kind.ESCALATED, CaseEntry.Kind.RESOLVED]
    outsider_case.refresh_from_db()
    assert outsider_case.status == FollowUpCase.Status.OPEN and outsider_case.new_expected_by is None


def test_a_bulk_action_missing_its_field_changes_nothing_and_says_why(client, supervisor_user, incident):  # noqa: F811
    client.force_login(supervisor_user)
    response = _post(client, incident, action="new-arrival", reason="x")  # no date
    assert response.status_code == 302 and response["Location"] == f"/staff/incidents/{incident.pk}/"
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "code-invalid_form" in page
    past = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = _post(client, incident, action="new-arrival", at=past, reason="x")
    assert "code-arrival_in_past" in client.get(response["Location"]).content.decode()
    assert not CaseEntry.objects.filter(kind=CaseEntry.Kind.NEW_ARRIVAL).exists()
    assert not _incident_cases(incident).filter(new_expected_by__isnull=False).exists()


def test_the_timeline_shows_bulk_actions_grouped_and_single_actions_by_case(client, supervisor_user,
                                                                           incident):  # noqa: F811
    client.force_login(supervisor_user)
    assert _post(client, incident, action="escalate").status_code == 302
    one = _incident_cases(incident).first()
    case_resolve(case=one, by=supervisor_user, outcome="no_fault", note="")
    incident_post_update(incident=incident, by=supervisor_user, body="渠道已恢复")
    events = incident_case_events(incident)
    assert [(e.kind, e.cases) for e in events] == [(CaseEntry.Kind.RESOLVED, 1), (CaseEntry.Kind.ESCALATED, 3)]
    assert events[0].case_reference == one.reference and events[0].outcome == "no_fault"
    html = client.get(f"/staff/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    timeline = html[html.index('id="incident-timeline"'):html.index("</ol>", html.index('id="incident-timeline"'))]
    assert "3 cases" in timeline and f'/staff/cases/{one.pk}/' in timeline and "No fault found" in timeline
    # the update is one row, not one per case; oldest first: opened, escalated, resolved, update
    assert timeline.count("incident-update") == 1 and timeline.count('data-kind="staff_reply"') == 0
    order = [timeline.index(s) for s in ('data-kind="escalated"', 'data-kind="resolved"', "incident-update")]
    assert order == sorted(order)


def test_the_timeline_is_bounded_and_its_query_count_fixed(client, supervisor_user, incident,  # noqa: F811
                                                           django_assert_max_num_queries):
    client.force_login(supervisor_user)
    client.get(f"/staff/incidents/{incident.pk}/")
    with django_assert_max_num_queries(100) as few:
        client.get(f"/staff/incidents/{incident.pk}/")
    base = timezone.now() - timedelta(hours=1)
    entries = []
    for i in range(30):  # thirty actions at thirty different times, on every case
        entries += [CaseEntry(case=c, kind=CaseEntry.Kind.ASSIGNED, author=supervisor_user,
                              created_at=base + timedelta(minutes=i), data={"bulk": True})
                    for c in _incident_cases(incident)]
    CaseEntry.objects.bulk_create(entries)
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client.get(f"/staff/incidents/{incident.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('data-kind="assigned"') == 30
    events = incident_case_events(incident, limit=5)
    assert len(events) == 5 and all(e.cases == 3 for e in events)
    assert events[0].at == base + timedelta(minutes=29)  # the latest first
