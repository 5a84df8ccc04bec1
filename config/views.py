from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve

from channels.models import Channel
from merchants.models import Membership
from settlement.selectors import status_counts


def home(request: HttpRequest) -> HttpResponse:
    """What is running, the demo logins, and live counts (refreshed by polling).
    After login, merchants land on their dashboard and staff on their queue."""
    if request.user.is_authenticated:
        if request.user.is_staff and _resolves("/staff/"):
            return redirect("/staff/")
        if Membership.objects.filter(user=request.user).exists():
            return redirect("merchants:home")
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


def _resolves(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True
