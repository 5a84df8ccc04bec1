from django.urls import path

from settlement.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("cases/<int:case_id>/<slug:action>/", views.case_action, name="case-action"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident"),
    path("incidents/<int:incident_id>/update/", views.incident_update, name="incident-update"),
    path("bulk/", views.bulk_action, name="bulk"),
]
