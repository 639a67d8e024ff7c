from django.urls import path, re_path
from django.views.generic import RedirectView

from . import views

# API paths are served with and without their trailing slash, never redirected.
urlpatterns = [
    re_path(
        r"^validate_ticket/?$",
        views.ValidateTicketView.as_view(),
        name="validate_ticket",
    ),
    # The page is /scan/ (the service worker's scope); /scan leads there.
    # Reversed as /scan/, so the language switch returns to the page itself.
    path("scan/", views.scan_page, name="scan"),
    path("scan", RedirectView.as_view(url="/scan/", query_string=True)),
    re_path(r"^scan/check/?$", views.ScannerCheckView.as_view(), name="scan_check"),
    re_path(r"^scan/login/?$", views.ScannerLoginView.as_view(), name="scan_login"),
    re_path(r"^scan/door/?$", views.DoorListView.as_view(), name="scan_door_list"),
    re_path(r"^scan/sync/?$", views.SyncOfflineScansView.as_view(), name="scan_sync"),
    re_path(
        r"^scan/collect/?$", views.CollectAtDoorView.as_view(), name="scan_collect"
    ),
    path("scan/public_key", views.public_key, name="scan_public_key"),
    path("scan/sw.js", views.service_worker, name="scan_service_worker"),
    path("scan/lib/<str:name>", views.qr_library_file, name="scan_qr_library"),
]
