from django.urls import path

from merchants.api import views

app_name = "merchant-api"

urlpatterns = [
    path("merchants/", views.MerchantListView.as_view(), name="merchants"),
    path("today/", views.TodayView.as_view(), name="today"),
    path("transactions/", views.TransactionListView.as_view(), name="transactions"),
    path("transactions/<int:pk>/", views.TransactionDetailView.as_view(), name="transaction"),
    path("payouts/", views.PayoutListView.as_view(), name="payouts"),
    path("payouts/<int:pk>/", views.PayoutDetailView.as_view(), name="payout"),
    path("cases/", views.CaseListView.as_view(), name="cases"),
    path("cases/<int:pk>/", views.CaseDetailView.as_view(), name="case"),
    path("inquiries/", views.InquiryCreateView.as_view(), name="inquiries"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
]
