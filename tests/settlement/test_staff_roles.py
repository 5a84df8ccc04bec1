"""Roles over EVERY staff route, found by introspecting the `staff` URL namespace (as
tests/merchants/test_isolation.py does for merchants): a new route fails here until
ROLE_MATRIX says who may use it, and until its view is wrapped by role_required."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from settlement.models import FollowUpCase
from settlement.staff.roles import Role, staff_role
from settlement.staff.views import ACTIONS
from tests.settlement.test_staff_pages import open_case

pytestmark = pytest.mark.django_db

# route name -> {method: lowest role}. case-action is expanded from views.ACTIONS.
ROLE_MATRIX: dict[str, dict[str, Role]] = {
    "staff:queue": {"get": Role.AGENT},
    "staff:case": {"get": Role.AGENT},
    "staff:case-action": {"post": Role.AGENT},  # and each action's own role below
    "staff:incident": {"get": Role.AGENT, "post": Role.SUPERVISOR},
    "staff:incident-update": {"post": Role.SUPERVISOR},
    "staff:bulk": {"post": Role.SUPERVISOR},
    # Routes of the parallel work (calendar editor, reconciliation), covered here for the
    # merge: the calendar editor and bulk break resolving are supervisor work.
    "staff:calendar-year": {"get": Role.SUPERVISOR, "post": Role.SUPERVISOR},
    "staff:reconciliation": {"get": Role.AGENT},
    "staff:reconciliation-resolve": {"post": Role.SUPERVISOR},
    "staff:reconciliation-upload": {"get": Role.AGENT},
    "staff:reconciliation-run": {"get": Role.AGENT},
    "staff:audit": {"get": Role.SUPERVISOR},
    # The merchant page: any agent looks up facts and memberships; inviting is supervisor work.
    "staff:merchant": {"get": Role.AGENT, "post": Role.SUPERVISOR},
}
# Routes whose object the matrix does not create: an allowed user may get a 404.
MAY_404 = {"staff:reconciliation-run"}
# The roles the issue asks for, written down independently of views.ACTIONS.
ACTION_ROLES = {
    "claim": Role.AGENT, "assign": Role.SUPERVISOR, "reply": Role.AGENT, "note": Role.AGENT,
    "contact": Role.AGENT, "new-arrival": Role.AGENT, "follow-up": Role.AGENT, "escalate": Role.AGENT,
    "wait": Role.AGENT, "resume": Role.AGENT, "record": Role.AGENT, "resolve": Role.AGENT,
}


def staff_routes() -> list[tuple[str, str, list[str], object]]:
    found = []

    def walk(patterns, prefix: str, namespace: str | None):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern) and namespace == "staff":
                found.append((f"staff:{p.name}", prefix + str(p.pattern), list(p.pattern.converters), p.callback))

    walk(get_resolver().url_patterns, "/", None)
    return found


def test_every_staff_route_is_in_the_matrix_and_guarded():
    routes = staff_routes()
    assert len(routes) >= 4
    for name, _route, _conv, callback in routes:
        assert name in ROLE_MATRIX, f"{name}: say in ROLE_MATRIX which role may use it"
        assert getattr(callback, "staff_role", None) is not None, f"{name}: wrap the view in role_required"
    assert set(ACTIONS) == set(ACTION_ROLES), "a case action was added or removed: update ACTION_ROLES"
    assert {a: r for a, (_f, r) in ACTIONS.items()} == ACTION_ROLES


@pytest.fixture
def personas(merchant_user, staff_user, supervisor_user, admin_user):
    return {None: None, "merchant": merchant_user, Role.AGENT: staff_user, Role.SUPERVISOR: supervisor_user,
            Role.ADMIN: admin_user}


def _requests(routes, case, incident_id):
    """(label, method, path, lowest role) for every route and action."""
    for name, route, converters, _cb in routes:
        path = (route.replace("<int:case_id>", str(case.pk)).replace("<int:incident_id>", str(incident_id))
                .replace("<slug:code>", case.channel.calendar.code).replace("<int:year>", "2026")
                .replace("<int:run_id>", "999999").replace("<path:merchant_no>", case.merchant.merchant_no))
        if "<slug:action>" in path:
            for action, role in ACTION_ROLES.items():
                yield f"{name}/{action}", "post", path.replace("<slug:action>", action), role
            continue
        assert "<" not in path, f"{name}: the matrix test does not know <{converters}>"
        for method, role in ROLE_MATRIX[name].items():
            yield name, method, path, role


def test_the_role_matrix_holds_on_every_route(client, personas, settings):
    from settlement.models import ChannelIncident

    settings.DELAYS_INCIDENT_THRESHOLD = 10**6
    case = open_case()
    incident = ChannelIncident.objects.create(channel=case.channel, opened_at=case.opened_at,
                                              window_start=case.opened_at)
    failures = []
    for label, method, path, lowest in _requests(staff_routes(), case, incident.pk):
        for who, user in personas.items():
            client.logout()
            if user is not None:
                client.force_login(user)
            response = getattr(client, method)(path, {})
            code = response.status_code
            if who is None:
                ok = code == 302 and "/accounts/login/" in response["Location"]
            elif who == "merchant" or who < lowest:
                ok = code == 403
            else:
                allowed = (403, 405) if label in MAY_404 else (403, 404, 405)
                ok = code not in allowed and code < 500
            if not ok:
                failures.append((label, method, who, code))
    assert not failures, failures


def test_an_agent_cannot_assign_or_resolve_an_incident(client, staff_user, supervisor_user):
    case = open_case()
    client.force_login(staff_user)
    assert client.post(f"/staff/cases/{case.pk}/assign/", {"assignee": staff_user.pk}).status_code == 403
    assert FollowUpCase.objects.get(pk=case.pk).assignee is None
    assert 'id="assign-form"' not in client.get(f"/staff/cases/{case.pk}/").content.decode()
    client.force_login(supervisor_user)
    assert client.post(f"/staff/cases/{case.pk}/assign/", {"assignee": staff_user.pk}).status_code == 302
    assert FollowUpCase.objects.get(pk=case.pk).assignee == staff_user


def test_roles_come_from_groups_and_superuser(staff_user, supervisor_user, admin_user, merchant_user):
    from tests.factories import UserFactory

    assert staff_role(merchant_user) is None
    assert (staff_role(staff_user), staff_role(supervisor_user), staff_role(admin_user)) == (
        Role.AGENT, Role.SUPERVISOR, Role.ADMIN)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    assert staff_role(root) == Role.ADMIN
