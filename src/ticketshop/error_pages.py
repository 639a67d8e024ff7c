"""Error pages: the admin's (and back office's) in the admin's look, the
shop's in the shop's look, both in the reader's language."""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import defaults

from ticketshop.shop import views as shop_views


def _in_admin(request) -> bool:
    return request.path.startswith(reverse("admin:index"))


def _admin_page(request, template: str, title: str, status: int):
    context = {**admin.site.each_context(request), "title": title}
    response = TemplateResponse(request, template, context, status=status)
    return response.render()


def permission_denied(request, exception=None):
    """Answer 403: in the admin, a page in its look that says what to do."""
    if _in_admin(request):
        return _admin_page(
            request, "admin/403.html", _("You may not open this page"), 403
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    """Answer 404: the admin's own page inside the admin, else the shop's."""
    if _in_admin(request):
        return _admin_page(request, "admin/404.html", _("Page not found"), 404)
    return shop_views.page_not_found(request, exception)
