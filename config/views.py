from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from merchants.models import Membership


def home(request: HttpRequest) -> HttpResponse:
    """Visitors see what the product is and a login, nothing else: no counts, no channel
    health, no engine. After login, merchants land on their dashboard and staff on
    their queue."""
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect("staff:queue")
        if Membership.objects.filter(user=request.user).exists():
            return redirect("merchants:home")
    return render(request, "home.html", {"form": AuthenticationForm(request)})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True, "database": connection.vendor})

