from django.urls import path

from merchants import statement, views

app_name = "merchants"

urlpatterns = [
    path("", views.home, name="home"),
    path("live/", views.home_live, name="home-live"),
    path("switch/", views.switch_merchant, name="switch"),
    path("shops/", views.shops, name="shops"),
    path("swipes/", views.swipes, name="swipes"),
    path("swipes/<int:pk>/", views.swipe_detail, name="swipe"),
    path("swipes/<int:pk>/ask/", views.swipe_ask, name="swipe-ask"),
    path("arrivals/", views.arrivals, name="arrivals"),
    path("arrivals/<int:pk>/", views.arrival_detail, name="arrival"),
    path("arrivals/<int:pk>/ask/", views.arrival_ask, name="arrival-ask"),
    path("cases/", views.cases, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/reply/", views.case_reply, name="case-reply"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications-read"),
    path("export/", views.export, name="export"),
    path("statuses/", views.glossary_page, name="glossary"),
    path("team/", views.team, name="team"),
    path("team/<int:pk>/role/", views.team_role, name="team-role"),
    path("team/<int:pk>/remove/", views.team_remove, name="team-remove"),
    path("tokens/", views.api_tokens, name="tokens"),
    path("statement/", statement.statement, name="statement"),
]
