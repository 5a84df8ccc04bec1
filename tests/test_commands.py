import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from channels.models import Channel, ChannelSecret
from merchants.models import Merchant
from settlement.models import Transaction

pytestmark = pytest.mark.django_db


def test_addchannel_prints_the_secret_it_created():
    out = StringIO()
    call_command("addchannel", "acq-x", "--name", "Acquirer X", stdout=out)
    secret = ChannelSecret.objects.get(channel__code="acq-x").secret
    assert secret.startswith("whsec_") and secret in out.getvalue()
    assert Channel.objects.get(code="acq-x").calendar.code == "CN"


def test_addchannel_with_a_given_secret_does_not_echo_it():
    out = StringIO()
    call_command("addchannel", "acq-y", "--name", "Y", "--secret", "whsec_c2VjcmV0c2VjcmV0c2VjcmV0", stdout=out)
    assert "whsec_c2VjcmV0c2VjcmV0c2VjcmV0" not in out.getvalue()
    # the poll secret is generated here: printed once, for the acquirer to verify our queries
    assert f"poll secret: {Channel.objects.get(code='acq-y').poll_secret}" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("addchannel", "acq-y", "--name", "Y")
    with pytest.raises(CommandError):
        call_command("addchannel", "acq-z", "--name", "Z", "--secret", "plain")


def test_addchannel_refuses_a_plain_http_poll_url():
    with pytest.raises(CommandError, match="https://"):
        call_command("addchannel", "acq-w", "--name", "W", "--poll-url", "http://acquirer.example.com/status")
    assert not Channel.objects.filter(code="acq-w").exists()


def test_load_demo_once_gives_logins_merchants_and_a_spread_of_swipes(tmp_path, settings, monkeypatch):
    import settlement.services.demo as demo

    monkeypatch.setattr(demo, "SECRETS_FILE", tmp_path / "demo_channels.json")
    monkeypatch.setattr(demo, "POLL_SECRETS_FILE", tmp_path / "demo_poll_secrets.json")
    out = StringIO()
    call_command("load_demo", "--swipes", "25", stdout=out)
    call_command("load_demo", stdout=out)
    assert "already loaded" in out.getvalue()
    # one login per staff role, printed, and reply templates to start from
    from django.contrib.auth import get_user_model

    from settlement.models import ReplyTemplate
    from settlement.staff.roles import Role, staff_role

    users = get_user_model().objects
    assert [staff_role(users.get(username=u)) for u in ("agent", "supervisor", "staff")] == [
        Role.AGENT, Role.SUPERVISOR, Role.ADMIN]
    assert "agent:          agent / demo-agent-pass" in out.getvalue() and "supervisor / demo-supervisor-pass" in out.getvalue()
    assert ReplyTemplate.objects.filter(active=True).count() == 2
    # the outage burst: the first late scan shows a newcomer a channel incident
    from settlement.models import ChannelIncident
    from settlement.services.delays import delays_flag

    delays_flag(now=timezone.now())
    assert ChannelIncident.objects.filter(status="open").exists()
    assert set(Merchant.objects.values_list("settlement_cycle", flat=True)) == {"T1", "D1", "T0", "D0"}
    statuses = set(Transaction.objects.values_list("status", flat=True))
    assert {"credited", "captured"} <= statuses
    assert Transaction.objects.filter(status__in=["cleared", "settled", "held"]).exists()
    assert (tmp_path / "demo_channels.json").exists()
    # the simulator verifies our signed status queries with the channels' poll secrets
    from channels.models import Channel

    poll_secrets = json.loads((tmp_path / "demo_poll_secrets.json").read_text())
    assert poll_secrets == dict(Channel.objects.values_list("code", "poll_secret"))
    assert all(s.startswith("whsec_") for s in poll_secrets.values())
    # the stuck (late) swipes are polled only later, so the demo shows open cases first
    late = Transaction.objects.filter(status__in=["cleared", "settled", "held"], expected_by__lt=timezone.now())
    assert late.exists() and all(t.next_poll_at > timezone.now() for t in late)


def test_seed_calendar_marks_unannounced_years_incomplete():
    out = StringIO()
    call_command("seed_calendar", "--year", "2026", "--year", "2030", stdout=out)
    assert "2026" in out.getvalue() and "2030 (incomplete)" in out.getvalue()
