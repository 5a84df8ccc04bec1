"""A way in (issue 13, item 8): staff invite a shop's owner (email to contact_email, or
the one-time link shown to them), owners invite cashiers; the link sets a password of
12+ characters, works once and expires; password reset by email."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from merchants.invitations import InvitationError, invitation_accept, invitation_create
from merchants.models import Invitation, Membership

pytestmark = pytest.mark.django_db
GOOD = "a-long-enough-passphrase"


def test_staff_invite_the_owner_from_the_merchants_admin_page(client, merchant, settings):
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "correct-horse-battery")
    client.force_login(admin)
    response = client.post("/admin/merchants/merchant/", {"action": "invite_owner", "_selected_action": [merchant.pk]},
                           follow=True)
    assert response.status_code == 200
    shown = re.search(r"one-time link (http://testserver/invite/[\w-]+/)", response.content.decode()).group(1)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [merchant.contact_email]
    assert shown in mail.outbox[0].body
    invitation = Invitation.objects.get()
    assert invitation.role == "owner" and shown.split("/")[-2] not in invitation.token_hash  # only the hash is kept
    client.logout()
    page = client.get(shown.removeprefix("http://testserver"))
    assert page.status_code == 200 and merchant.name in page.content.decode()


def test_the_link_sets_a_password_logs_in_and_works_once(client, merchant):
    new = invitation_create(merchant=merchant, role="owner", email="owner@example.com")
    short = client.post(new.path, {"username": "owner1", "password1": "short", "password2": "short"})
    assert short.status_code == 400 and not get_user_model().objects.filter(username="owner1").exists()
    response = client.post(new.path, {"username": "owner1", "password1": GOOD, "password2": GOOD})
    assert response.status_code == 302 and response["Location"] == "/m/"
    assert client.get("/m/").context["merchant"] == merchant
    user = get_user_model().objects.get(username="owner1")
    assert user.email == "owner@example.com" and user.check_password(GOOD)
    assert Membership.objects.get(user=user).role == "owner"
    client.logout()
    again = client.get(new.path)
    assert again.status_code == 410 and "已经使用" in again.content.decode()
    with pytest.raises(InvitationError) as exc:
        invitation_accept(token=new.token, username="owner2", password=GOOD)
    assert exc.value.code == "invitation_used"


def test_the_link_expires(client, merchant, settings):
    new = invitation_create(merchant=merchant, role="owner")
    with time_machine.travel(timezone.now() + timedelta(hours=settings.INVITATION_VALID_HOURS, seconds=1)):
        assert client.get(new.path).status_code == 410
        with pytest.raises(InvitationError) as exc:
            invitation_accept(token=new.token, username="late", password=GOOD)
    assert exc.value.code == "invitation_expired" and not get_user_model().objects.filter(username="late").exists()


def test_a_taken_username_leaves_the_link_usable(client, merchant, merchant_user):
    new = invitation_create(merchant=merchant, role="cashier")
    with pytest.raises(InvitationError) as exc:
        invitation_accept(token=new.token, username="shopkeeper", password=GOOD)
    assert exc.value.code == "username_taken"
    assert Invitation.objects.get().accepted_at is None
    assert invitation_accept(token=new.token, username="cashier9", password=GOOD).username == "cashier9"


def test_an_owner_invites_a_cashier_who_then_sees_swipes_only(client, shop, merchant_user):
    client.force_login(merchant_user)
    page = client.post("/m/team/", {"email": ""}, HTTP_ACCEPT_LANGUAGE="en")
    link = re.search(r"http://testserver(/invite/[\w-]+/)", page.content.decode()).group(1)
    assert mail.outbox == []  # no address: the owner sends the shown link
    client.logout()
    client.post(link, {"username": "till1", "password1": GOOD, "password2": GOOD})
    assert Membership.objects.get(user__username="till1").role == "cashier"
    assert client.get("/m/swipes/").status_code == 200 and client.get("/m/arrivals/").status_code == 403
    assert client.get("/m/team/").status_code == 403


def test_password_reset_by_email(client, merchant_user):
    merchant_user.email = "shop@example.com"
    merchant_user.save()
    client.get("/accounts/login/")
    assert "/accounts/password_reset/" in client.get("/accounts/login/").content.decode()
    client.post("/accounts/password_reset/", {"email": "shop@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and 'name="new_password1"' in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": GOOD, "new_password2": GOOD})
    assert done.status_code == 302
    merchant_user.refresh_from_db()
    assert merchant_user.check_password(GOOD)


def test_operators_can_print_an_invitation_link(merchant):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("invite_merchant_user", merchant.merchant_no, "--role", "cashier", "--email", "", stdout=out)
    assert re.search(r"one-time link \(cashier of .+\): http://127\.0\.0\.1:8000/invite/[\w-]+/", out.getvalue())
    assert Invitation.objects.get().role == "cashier" and mail.outbox == []


def test_operators_can_invite_with_a_phone(merchant):
    import io

    from django.core.management import CommandError, call_command

    call_command("invite_merchant_user", merchant.merchant_no, "--phone", "+86 138 0013 8000", stdout=io.StringIO())
    assert Invitation.objects.get().phone == "13800138000"
    with pytest.raises(CommandError, match="phone_invalid"):
        call_command("invite_merchant_user", merchant.merchant_no, "--phone", "555", stdout=io.StringIO())
