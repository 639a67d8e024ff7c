from django.apps import apps
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include("ticketshop.orders.urls")),
    path("", include("ticketshop.payments.urls")),
    path("", include("ticketshop.scanning.urls")),
    path("", include("ticketshop.shop.urls")),
    path("", include("ticketshop.ops.urls")),
    path("", include("ticketshop.waitlist.urls")),
    path("", include("ticketshop.release.urls")),
]

# The built-in stand-in for Swish (demo, development, tests), wherever its
# app is installed (settings decide that once, at start-up); each of its
# views answers 404 unless SWISH_ENVIRONMENT is "simulator" at that request.
if apps.is_installed("ticketshop.swish_simulator"):
    urlpatterns.append(
        path("swish-simulator/", include("ticketshop.swish_simulator.urls"))
    )

# Errors in the shop's look and the reader's language (shop/templates/shop/);
# inside the admin, in the admin's look (templates/admin/403.html, 404.html).
handler403 = "ticketshop.error_pages.permission_denied"
handler404 = "ticketshop.error_pages.page_not_found"
handler500 = "ticketshop.shop.views.server_error"
