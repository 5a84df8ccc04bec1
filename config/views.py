from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from channels.models import Channel
from settlement.selectors import status_counts


def home(request: HttpRequest) -> HttpResponse:
    """What is running, the demo logins, and live counts (refreshed by polling)."""
    context = {
        "channels": Channel.objects.order_by("code"),
        "counts": status_counts(),
        "database": connection.vendor,
    }
    return render(request, "home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True, "database": connection.vendor})
