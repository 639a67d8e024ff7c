from django.urls import path, re_path

from . import views

# API paths are served with and without their trailing slash, never redirected.
urlpatterns = [
    re_path(
        r"^validate_ticket/?$",
        views.ValidateTicketView.as_view(),
        name="validate_ticket",
    ),
    re_path(r"^scan/?$", views.scan_page, name="scan"),
    re_path(r"^scan/login/?$", views.ScannerLoginView.as_view(), name="scan_login"),
    path("scan/lib/<str:name>", views.qr_library_file, name="scan_qr_library"),
]
