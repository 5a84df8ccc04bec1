from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import views
from merchants.accounts import invite_accept, phone_login

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/phone/", phone_login, name="phone-login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("m/", include("merchants.urls")),
    path("invite/<str:token>/", invite_accept, name="invite-accept"),
    path("api/v1/merchant/", include("merchants.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"), name="api-docs"),
    path("api/v1/acquirer/<str:channel_code>/", include("channels.api.urls")),
    path("staff/health/", views.staff_health, name="staff-health"),
    path("staff/", include("settlement.staff.urls")),
]
handler404 = "config.views.not_found"
