import os
import secrets
import tempfile

import pytest

from tests.factories import MembershipFactory, MerchantFactory, UserFactory

# The processes tests start (gunicorn, workers, the simulator) run with DEBUG off over
# plain http: they need a real key and the local (not behind TLS) shape.
os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_SECURE", "false")


def _metrics_files_of_this_worker() -> None:
    """Each xdist worker counts in prometheus files of its own: the metrics tests compare
    a scrape before and after, and the other worker's pushes landed in the shared var/
    ones. config.metrics opened its files when pytest-django set Django up (before any
    conftest); a new directory and a new process identifier (`_HOST`, read by its
    identifier function) make prometheus_client reopen every value there at its next
    use, as after a fork. Processes the tests start inherit the directory."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    from config import metrics

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=f"settletrack-prometheus-{worker}-")
    metrics._HOST = f"{metrics._HOST}-{worker}"
    metrics.LATE_OPENED.inc(0)  # one use reopens every value, the label-less ones at 0 as at import


_metrics_files_of_this_worker()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is the production hasher; tests do not need to pay for it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_login_delay(monkeypatch):
    # The per-username delay before a password check really sleeps (up to 3 s a try):
    # lockout tests paid ~35 s for it. tests/test_login_security.py records the delays.
    from config import login_security

    monkeypatch.setattr(login_security, "sleep", lambda seconds: None)


@pytest.fixture(autouse=True)
def _clear_default_cache():
    # API throttles count in the default cache: one test's requests must not throttle the next.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _clear_calendar_cache():
    from channels.selectors import clear_calendar_cache

    clear_calendar_cache()
    yield
    clear_calendar_cache()


# --- personas -------------------------------------------------------------------
@pytest.fixture
def merchant(db):
    return MerchantFactory()


@pytest.fixture
def merchant_user(merchant):
    user = UserFactory(username="shopkeeper")
    MembershipFactory(user=user, merchant=merchant)
    return user


@pytest.fixture
def outsider(db):
    """A merchant user of another merchant: must never see `merchant`'s data."""
    other = MerchantFactory()
    user = UserFactory(username="outsider")
    MembershipFactory(user=user, merchant=other)
    return user


@pytest.fixture
def staff_user(db):
    """An agent: works cases, cannot assign, bulk-act or resolve incidents."""
    return UserFactory(username="support", is_staff=True)


def staff_with_role(username: str, role_group: str):
    from django.contrib.auth.models import Group

    user = UserFactory(username=username, is_staff=True)
    user.groups.add(Group.objects.get_or_create(name=role_group)[0])
    return user


@pytest.fixture
def supervisor_user(db):
    return staff_with_role("lead", "supervisor")


@pytest.fixture
def admin_user(db):
    return staff_with_role("boss", "admin")


# --- browser (pytest-playwright driving Debian's chromium) ------------------------
@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


# --- the fake acquirer status API (tests/fake_acquirer.py) ----------------------------
@pytest.fixture
def fake_status_api(monkeypatch):
    """A fake status API in place of the real (signed) status query: set `.knows[ref]` to
    the events it answers, `.failure` to a PollFailed to make every query fail."""
    from tests.fake_acquirer import TARGET, FakeStatusApi

    fake = FakeStatusApi()
    monkeypatch.setattr(TARGET, fake)
    return fake


# The longest xdist groups (the 5-minute soak, the multi-host run) start first: with
# `--dist loadgroup` work is handed out in collection order, and collected last (tests/
# test_soak.py sorts after every folder) the soak began when the rest was done and added
# its whole length to the suite. Every worker sorts the same way, as xdist requires.
_FIRST_GROUPS = ("soak", "multihost", "chaos")


def pytest_collection_modifyitems(items):
    def rank(item):
        marker = item.get_closest_marker("xdist_group")
        group = (marker.args[0] if marker and marker.args else marker.kwargs.get("name")) if marker else None
        return _FIRST_GROUPS.index(group) if group in _FIRST_GROUPS else len(_FIRST_GROUPS)

    items.sort(key=rank)  # stable: the order within each rank is pytest's
