import hmac

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from config.health import health_report, health_rows, processes_state
from merchants.models import Membership
from settlement.staff.views import staff_required


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what the product is and a login, nothing else: no counts, no channel
    health, no engine. After login, merchants land on their dashboard and staff on
    their queue."""
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect("staff:queue")
        if Membership.objects.filter(user=request.user).exists():
            return redirect("merchants:home")
    return render(request, "home.html", {"form": AuthenticationForm(request), "processes": processes_state()})


def healthz(request: HttpRequest) -> JsonResponse:
    """503 only when the database does not answer; 200 "degraded" for the rest."""
    status, body = health_report()
    return JsonResponse(body, status=status)


@staff_required
def staff_health(request: HttpRequest) -> HttpResponse:
    """The same report as /healthz, for people (fresh, not cached)."""
    _status, body = health_report(use_cache=False)
    return render(request, "health.html", {"report": body, "rows": health_rows(body)})



def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """handler404: an API client gets the API's JSON error shape, a person the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "No such endpoint."}}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format; a 404 until METRICS_TOKEN is set, 401 without the bearer token."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    from prometheus_client import CONTENT_TYPE_LATEST

    from config.metrics import render as metrics_render

    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_LATEST)
