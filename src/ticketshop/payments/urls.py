from django.urls import re_path

from . import views

# Each path is served with and without its trailing slash, never redirected.
urlpatterns = [
    re_path(
        r"^start_payment/?$", views.StartPaymentView.as_view(), name="start_payment"
    ),
    re_path(
        r"^session_payment_status/?$",
        views.SessionPaymentStatusView.as_view(),
        name="session_payment_status",
    ),
    re_path(
        r"^generate_qr/(?P<token>[^/]+)/?$",
        views.GenerateQrView.as_view(),
        name="generate_qr",
    ),
    re_path(
        r"^swish/callback/?$",
        views.SwishCallbackView.as_view(),
        name="swish_callback",
    ),
]
