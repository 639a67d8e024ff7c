from django.urls import re_path

from . import views

# Each path is served with and without its trailing slash, never redirected.
urlpatterns = [
    re_path(
        r"^get_chapterevents/?$",
        views.GetChapterEventsView.as_view(),
        name="get_chapterevents",
    ),
    re_path(
        r"^reserve_ticket/?$", views.ReserveTicketView.as_view(), name="reserve_ticket"
    ),
]
