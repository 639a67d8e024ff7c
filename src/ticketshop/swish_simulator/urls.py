from django.urls import path, re_path

from . import views

app_name = "swish_simulator"

# Swish's own paths, below /swish-simulator/.
urlpatterns = [
    path("", views.index, name="index"),
    # The simulator's own fault control (not Swish's).
    path("faults/", views.fault_control, name="faults"),
    path(
        "swish-cpcapi/api/v2/paymentrequests/<str:request_id>",
        views.create_payment_request,
        name="create_payment_request",
    ),
    path(
        "swish-cpcapi/api/v1/paymentrequests/<str:request_id>",
        views.payment_request,
        name="payment_request",
    ),
    path(
        "swish-cpcapi/api/v2/refunds/<str:refund_id>",
        views.create_refund,
        name="create_refund",
    ),
    path("swish-cpcapi/api/v1/refunds/<str:refund_id>", views.refund, name="refund"),
    re_path(r"^pay/(?P<token>[^/]+)/?$", views.pay, name="pay"),
]
