"""Owners manage their people on /m/team/ (issue 13, item 8): change a member's role
(owner/cashier) or remove them; the last owner is never removed or demoted; a removed
member's sessions and API tokens end. Cashiers reach none of it (test_roles walks the
routes); another shop's memberships are a 404 (test_isolation walks them too)."""

import pytest
from django.contrib.sessions.models import Session
from knox.models import AuthToken

from merchants.models import Membership
from merchants.team import TeamError, membership_remove, membership_role_change
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cashier(merchant):
    user = UserFactory(username="till-1")
    return MembershipFactory(user=user, merchant=merchant, role="cashier")


@pytest.fixture
def owner(client, merchant_user):
    client.force_login(merchant_user)
    return Membership.objects.get(user=merchant_user)


def test_the_team_page_offers_role_and_remove_per_member(client, owner, cashier):
    body = client.get("/m/team/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'action="/m/team/{cashier.pk}/role/"' in body and f'action="/m/team/{cashier.pk}/remove/"' in body
    assert 'name="phone"' in body  # the cashier invitation takes a phone too


def test_an_owner_changes_a_cashiers_role_both_ways(client, owner, cashier):
    response = client.post(f"/m/team/{cashier.pk}/role/", {"role": "owner"})
    assert response.status_code == 302 and response["Location"] == "/m/team/"
    cashier.refresh_from_db()
    assert cashier.role == "owner"
    assert client.post(f"/m/team/{cashier.pk}/role/", {"role": "cashier"}).status_code == 302
    cashier.refresh_from_db()
    assert cashier.role == "cashier"


def test_an_unknown_role_is_a_clear_error(client, owner, cashier):
    response = client.post(f"/m/team/{cashier.pk}/role/", {"role": "admin"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400 and 'data-code="role_invalid"' in response.content.decode()
    cashier.refresh_from_db()
    assert cashier.role == "cashier"


def test_removing_ends_the_members_sessions_and_tokens(client, owner, cashier, django_user_model):
    from django.test import Client

    till = Client()
    till.force_login(cashier.user)
    AuthToken.objects.create(user=cashier.user)
    assert till.get("/m/swipes/").status_code == 200
    response = client.post(f"/m/team/{cashier.pk}/remove/")
    assert response.status_code == 302 and response["Location"] == "/m/team/"
    assert not Membership.objects.filter(pk=cashier.pk).exists()
    assert not AuthToken.objects.filter(user=cashier.user).exists()
    assert all(str(s.get_decoded().get("_auth_user_id")) != str(cashier.user_id) for s in Session.objects.all())
    assert till.get("/m/swipes/").status_code == 302  # back to the login page
    assert client.get("/m/team/").status_code == 200  # the owner's own session lives on
    assert django_user_model.objects.filter(pk=cashier.user_id).exists()  # the user stays, without the shop


def test_the_last_owner_is_never_removed_or_demoted(client, owner, cashier):
    for path, data in ((f"/m/team/{owner.pk}/remove/", {}), (f"/m/team/{owner.pk}/role/", {"role": "cashier"})):
        response = client.post(path, data, HTTP_ACCEPT_LANGUAGE="en")
        body = response.content.decode()
        assert response.status_code == 400 and 'data-code="last_owner"' in body and "last owner" in body, path
    owner.refresh_from_db()
    assert owner.role == "owner"
    with pytest.raises(TeamError) as exc:
        membership_remove(merchant=owner.merchant, membership_id=owner.pk, by=owner.user)
    assert exc.value.code == "last_owner"
    with pytest.raises(TeamError) as exc:
        membership_role_change(merchant=owner.merchant, membership_id=owner.pk, role="cashier", by=owner.user)
    assert exc.value.code == "last_owner"


def test_with_a_second_owner_one_may_step_down(client, owner, cashier):
    membership_role_change(merchant=owner.merchant, membership_id=cashier.pk, role="owner", by=owner.user)
    response = client.post(f"/m/team/{owner.pk}/role/", {"role": "cashier"})
    assert response.status_code == 302 and response["Location"] == "/m/"  # no team page for a cashier
    owner.refresh_from_db()
    assert owner.role == "cashier"
    assert client.get("/m/team/").status_code == 403
    # the remaining owner is now the last one
    with pytest.raises(TeamError):
        membership_remove(merchant=owner.merchant, membership_id=cashier.pk, by=cashier.user)


def test_another_shops_member_is_a_404_and_untouched(client, owner, other_shop):
    theirs = Membership.objects.get(merchant=other_shop.merchant)
    assert client.post(f"/m/team/{theirs.pk}/remove/").status_code == 404
    assert client.post(f"/m/team/{theirs.pk}/role/", {"role": "cashier"}).status_code == 404
    assert client.post("/m/team/999999/remove/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.role == "owner"


def test_get_is_not_allowed(client, owner, cashier):
    assert client.get(f"/m/team/{cashier.pk}/remove/").status_code == 405
    assert Membership.objects.filter(pk=cashier.pk).exists()


def test_a_cashier_cannot_remove_or_promote(client, merchant, owner, cashier):
    client.force_login(cashier.user)
    assert client.post(f"/m/team/{owner.pk}/remove/").status_code == 403
    assert client.post(f"/m/team/{cashier.pk}/role/", {"role": "owner"}).status_code == 403
    cashier.refresh_from_db()
    assert cashier.role == "cashier" and Membership.objects.filter(pk=owner.pk).exists()


def test_an_owner_who_leaves_is_logged_out_cleanly(client, owner, cashier):
    membership_role_change(merchant=owner.merchant, membership_id=cashier.pk, role="owner", by=owner.user)
    response = client.post(f"/m/team/{owner.pk}/remove/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Membership.objects.filter(pk=owner.pk).exists()
    assert client.get("/m/").status_code == 302
