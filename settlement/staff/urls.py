from django.urls import path

from settlement.staff import audit, calendars, merchant_page, reconciliation, views

app_name = "staff"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path("cases/<int:case_id>/<slug:action>/", views.case_action, name="case-action"),
    path("incidents/<int:incident_id>/", views.incident_page, name="incident"),
    path("calendars/<slug:code>/<int:year>/", calendars.year_editor, name="calendar-year"),
    path("reconciliation/", reconciliation.breaks_page, name="reconciliation"),
    path("reconciliation/resolve/", reconciliation.breaks_bulk_resolve, name="reconciliation-resolve"),
    path("reconciliation/upload/", reconciliation.upload_page, name="reconciliation-upload"),
    path("reconciliation/runs/<int:run_id>/", reconciliation.run_page, name="reconciliation-run"),
    path("incidents/<int:incident_id>/update/", views.incident_update, name="incident-update"),
    path("bulk/", views.bulk_action, name="bulk"),
    path("audit/", audit.audit_page, name="audit"),
    path("merchants/<path:merchant_no>/", merchant_page.merchant_page, name="merchant"),
]
