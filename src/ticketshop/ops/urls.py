from django.urls import path

from .health import healthz
from .views import metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("metrics", metrics_view, name="metrics"),
]
