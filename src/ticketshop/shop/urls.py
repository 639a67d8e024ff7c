from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from . import views

app_name = "shop"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("events/<int:event_id>/", views.EventView.as_view(), name="event"),
    path("pay/", views.PayView.as_view(), name="pay"),
    # The Swish app's way back (callbackurl): a signed, expiring link.
    path("pay/return/<str:signed>/", views.PayReturnView.as_view(), name="pay_return"),
    path(
        "pay/return/<str:signed>/status/",
        views.PayReturnStatusView.as_view(),
        name="pay_return_status",
    ),
    path(
        "pay/return/<str:signed>/tickets/<str:external_id>/qr.svg",
        views.PayReturnTicketQrView.as_view(),
        name="pay_return_qr",
    ),
    path(
        "pay/return/<str:signed>/receipts/<str:code>.pdf",
        views.PayReturnReceiptView.as_view(),
        name="pay_return_receipt",
    ),
    path(
        "pay/return/<str:signed>/invoice/",
        views.InvoiceRequestView.as_view(),
        name="pay_return_invoice",
    ),
    path("confirmation/", views.ConfirmationView.as_view(), name="confirmation"),
    path("terms/", views.TermsView.as_view(), name="terms"),
    path("favicon.ico", views.favicon, name="favicon"),
    path(
        "tickets/<str:external_id>/qr.svg",
        views.TicketQrView.as_view(),
        name="ticket_qr",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["ticketshop.shop"]),
        name="jsi18n",
    ),
    # Django's set_language view: POST language=sv|en, stored in a cookie.
    path("i18n/", include("django.conf.urls.i18n")),
]
