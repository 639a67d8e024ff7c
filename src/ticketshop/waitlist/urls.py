from django.urls import path, re_path

from . import views

app_name = "waitlist"

urlpatterns = [
    path("events/<int:event_id>/waiting-list/", views.JoinPage.as_view(), name="join"),
    path("waitlist/offer/<str:token>/", views.OfferPage.as_view(), name="offer"),
    re_path(r"^api/waitlist/join/?$", views.JoinApi.as_view(), name="api_join"),
    re_path(
        r"^api/waitlist/offer/(?P<token>[^/]+)/?$",
        views.OfferApi.as_view(),
        name="api_offer",
    ),
]
