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
]
