"""The merchant API's schema says what it answers: paginated envelopes, nullable
references, documented 400/403/404 (a client generated from it must not break)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(client):
    return client.get("/api/schema/?format=json").json()


def _schema_of(spec, path, code="200", method="get"):
    ref = spec["paths"][path][method]["responses"][code]["content"]["application/json"]["schema"]["$ref"]
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]


@pytest.mark.parametrize("path", ["cases", "notifications", "payouts", "transactions"])
def test_lists_are_documented_as_the_pages_they_answer(spec, path):
    page = _schema_of(spec, f"/api/v1/merchant/{path}/")
    assert set(page["properties"]) == {"count", "next", "previous", "results"}
    assert page["properties"]["results"]["type"] == "array"
    assert page["properties"]["next"].get("nullable") is True
    params = {p["name"] for p in spec["paths"][f"/api/v1/merchant/{path}/"]["get"]["parameters"]}
    assert {"limit", "offset", "merchant"} <= params


def test_references_that_can_be_missing_are_nullable(spec):
    case = spec["components"]["schemas"]["CaseOut"]["properties"]
    assert case["payout_reference"].get("nullable") is True and case["transaction_reference"].get("nullable")
    swipe = spec["components"]["schemas"]["TransactionOut"]["properties"]
    assert swipe["terminal"].get("nullable") is True and swipe["case_reference"].get("nullable") is True


def test_error_answers_are_documented(spec):
    detail = spec["paths"]["/api/v1/merchant/cases/{id}/"]["get"]["responses"]
    assert {"200", "403", "404"} <= set(detail)
    assert {"400", "404"} <= set(spec["paths"]["/api/v1/merchant/transactions/"]["get"]["responses"])
    assert {"200", "201", "400"} <= set(spec["paths"]["/api/v1/merchant/inquiries/"]["post"]["responses"])


def test_an_unknown_api_path_answers_the_json_error_shape(client, merchant_user):
    client.force_login(merchant_user)
    response = client.get("/api/v1/merchant/cases/not-a-number/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert client.get("/no-such-page/").status_code == 404  # pages keep Django's 404 page


def test_the_merchant_api_throttles_per_user_with_the_configured_rate(client, merchant_user, monkeypatch):
    from rest_framework.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "rate", "3/min", raising=False)  # else read from settings at import
    client.force_login(merchant_user)
    statuses = [client.get("/api/v1/merchant/today/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    throttled = client.get("/api/v1/merchant/today/")
    assert throttled.json()["error"]["code"] == "throttled" and int(throttled["Retry-After"]) > 0


def test_the_configured_rates_are_in_use():
    from django.conf import settings

    rest = settings.REST_FRAMEWORK
    assert set(rest["DEFAULT_THROTTLE_RATES"]) == {"anon", "user"}
    assert {c.rsplit(".", 1)[1] for c in rest["DEFAULT_THROTTLE_CLASSES"]} == {"AnonRateThrottle", "UserRateThrottle"}


def test_the_anonymous_throttle_takes_the_address_like_the_lockout(settings):
    from django.test import RequestFactory
    from rest_framework.request import Request
    from rest_framework.throttling import AnonRateThrottle

    request = Request(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4"))
    # no proxy in front (the default): a client's own X-Forwarded-For is not its address
    assert AnonRateThrottle().get_ident(request) == "10.0.0.2"
