from django.urls import path, re_path

from channels.api import views

app_name = "acquirer"

# Mounted at /api/v1/acquirer/<channel_code>/ (config/urls.py).
urlpatterns = [
    path("merchants/<str:merchant_no>", views.MerchantView.as_view(), name="merchant"),
    path("transactions", views.TransactionsView.as_view(), name="transactions"),
    path("transactions/<str:reference>", views.TransactionDetailView.as_view(), name="transaction"),
    path("events", views.EventsView.as_view(), name="events"),
    path("payouts", views.PayoutsView.as_view(), name="payouts"),
    path("settlement-files", views.SettlementFilesView.as_view(), name="settlement-files"),
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not-found"),
]
