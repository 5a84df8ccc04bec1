import pytest

from settlement.services.demo import DEMO_CHANNELS
from tests.factories import ChannelFactory, MerchantFactory, make_transaction

pytestmark = pytest.mark.django_db


def test_visitors_see_what_it_is_and_a_login_and_nothing_else(settings):
    settings.DEMO_MODE = True
    demo = MerchantFactory(channel=ChannelFactory(code=DEMO_CHANNELS[0][0]))
    make_transaction(merchant=demo)
    response = client_get_en("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Settlement tracking" in body and 'action="/accounts/login/"' in body and 'name="password"' in body
    # demo mode: the demo logins, and still nobody's numbers, channels or engine
    assert "Demo logins" in body and "demo-staff-pass" in body
    for leak in ("demo-acq", 'id="counts"', "postgresql", "sqlite", "Captured", "/admin/", "/api/docs/"):
        assert leak not in body, leak


def test_demo_logins_only_in_demo_mode(settings):
    settings.DEMO_MODE = False
    MerchantFactory(channel=ChannelFactory(code=DEMO_CHANNELS[0][0]))
    for path in ("/", "/accounts/login/"):
        body = client_get_en(path).content.decode()
        assert "Demo logins" not in body and "demo-staff-pass" not in body and 'name="password"' in body
    settings.DEMO_MODE = True
    assert "demo-merchant-pass" in client_get_en("/accounts/login/").content.decode()


def test_a_real_install_shows_visitors_no_logins_and_nobodys_numbers(merchant, settings):
    settings.DEMO_MODE = True  # demo mode on, but no demo data: nothing to show
    make_transaction(merchant=merchant)
    response = client_get_en("/")
    assert response.status_code == 200
    assert b"Demo logins" not in response.content and b"demo-staff-pass" not in response.content
    assert merchant.channel.code.encode() not in response.content and b'id="counts"' not in response.content
    assert b"/accounts/login/" in response.content


def test_logout_lands_on_the_login_page(client, merchant_user):
    client.force_login(merchant_user)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"


def test_after_login_staff_go_to_the_queue_and_merchants_to_their_shop(client, staff_user, merchant_user):
    client.force_login(staff_user)
    assert client.get("/")["Location"] == "/staff/"
    client.force_login(merchant_user)
    assert client.get("/")["Location"] == "/m/"


def client_get_en(path: str):
    from django.test import Client

    return Client().get(path, HTTP_ACCEPT_LANGUAGE="en")


def test_admin_is_reachable_for_staff(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    assert client.get("/admin/settlement/transaction/").status_code == 200
    assert client.get("/admin/channels/calendarday/").status_code == 200


def test_admin_requires_login(client):
    assert client.get("/admin/").status_code == 302


def test_healthz(client):
    assert client.get("/healthz").json()["ok"] is True
