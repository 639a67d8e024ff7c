from django.urls import path, re_path

from . import views

app_name = "release"

# The API's paths are served with and without their trailing slash.
urlpatterns = [
    re_path(r"^api/queue/join/?$", views.JoinQueueView.as_view(), name="api_join"),
    re_path(
        r"^api/queue/status/?$", views.QueueStatusView.as_view(), name="api_status"
    ),
    re_path(r"^api/queue/leave/?$", views.LeaveQueueView.as_view(), name="api_leave"),
    re_path(r"^api/queue/draw/?$", views.PublishedDrawView.as_view(), name="api_draw"),
    path("queue/how-it-works/", views.HowItWorksView.as_view(), name="how"),
    path("queue/confirm/<str:token>/", views.ConfirmView.as_view(), name="confirm"),
    path(
        "queue/admitted/<str:token>/",
        views.AdmittedLinkView.as_view(),
        name="admitted",
    ),
    path("queue/<int:event_id>/", views.QueuePageView.as_view(), name="queue"),
    path("queue/<int:event_id>/draw/", views.DrawPageView.as_view(), name="draw"),
]
