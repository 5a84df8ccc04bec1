from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from channels.models import Channel
from merchants.models import Membership
from settlement.selectors import status_counts
from settlement.services.demo import demo_loaded


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
    }
    return render(request, "home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True, "database": connection.vendor})



def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """handler404: an API client gets the API's JSON error shape, a person the page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "not_found", "message": "No such endpoint."}}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)
