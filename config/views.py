from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from channels.models import Channel
from config.health import health_report, health_rows, processes_state
from merchants.models import Membership
from settlement.selectors import status_counts
from settlement.services.demo import demo_loaded
from settlement.staff.views import staff_required


def home(request: HttpRequest) -> HttpResponse:
    """What is running, the demo logins, and live counts (refreshed by polling).
    After login, merchants land on their dashboard and staff on their queue."""
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect("staff:queue")
        if Membership.objects.filter(user=request.user).exists():
            return redirect("merchants:home")
    # The logins and the live counts of every merchant are for a demo install only:
    # a real deployment has no demo channel and shows nobody's numbers to visitors.
    demo = demo_loaded()
    context = {
        "demo": demo,
        "channels": Channel.objects.order_by("code") if demo else [],
        "counts": status_counts() if demo else {},
        "database": connection.vendor,
        "processes": processes_state(),  # under `make run`: which part is down
    }
    return render(request, "home.html", context)


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
