"""The treasurer's pages in the admin: the bookkeeping settings (confirmed
by the treasurer), the receipts (each as its PDF) and the buyers' invoice
requests (marked sent or declined). Each change goes through a use case
(``services.update_organiser``, ``invoices.handle_invoice_request``)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ticketshop.admin_permissions import ViewOnlyMixin
from ticketshop.statemachine.machine import TransitionNotAllowed

from .forms import ACCOUNT_FIELDS, DateRangeForm, OrganiserForm, SieForm
from .invoices import handle_invoice_request
from .machines import INVOICE_REQUEST
from .models import InvoiceRequest, Organiser, Receipt
from .pdf import render_receipt_list_pdf, render_receipt_pdf
from .receipts import current_organiser
from .services import update_organiser
from .sie import build_vouchers, receipts_issued, render_sie


def _render(admin_obj, request, template, context, status=200):
    request.current_app = admin_obj.admin_site.name
    return TemplateResponse(
        request,
        f"admin/books/{template}",
        {
            **admin_obj.admin_site.each_context(request),
            "opts": admin_obj.model._meta,
            **context,
        },
        status=status,
    )


@admin.register(Organiser)
class OrganiserAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        return self.settings_view(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:books_organiser_changelist"))

    def settings_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        organiser = current_organiser()
        may_change = self.has_change_permission(request)
        status = 200
        if request.method == "POST":
            if not may_change:
                raise PermissionDenied
            form = OrganiserForm(request.POST, instance=Organiser(pk=organiser.pk))
            if form.is_valid():
                values = {name: form.cleaned_data[name] for name in form.Meta.fields}
                update_organiser(
                    user=request.user,
                    values=values,
                    confirm=form.cleaned_data["confirm"],
                )
                messages.success(request, _("The bookkeeping settings are saved."))
                return HttpResponseRedirect(request.path)
            status = 400
        else:
            form = OrganiserForm(instance=organiser)
        return _render(
            self,
            request,
            "settings.html",
            {
                "title": _("Bookkeeping settings"),
                "form": form,
                "organiser": organiser,
                "may_change": may_change,
                "account_fields": [form[name] for name in ACCOUNT_FIELDS],
                "other_fields": [
                    form[name]
                    for name in form.Meta.fields
                    if name not in ACCOUNT_FIELDS
                ],
            },
            status=status,
        )


@admin.register(Receipt)
class ReceiptAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "kind",
        "issued_at",
        "order_reference",
        "total",
        "vat_total",
        "pdf",
    ]
    list_filter = ["kind", "year"]
    search_fields = ["code", "order__reference", "order__email"]
    list_select_related = ["order"]

    @admin.display(description=gettext_lazy("order"), ordering="order__reference")
    def order_reference(self, obj):
        return obj.order.reference

    @admin.display(description="PDF")
    def pdf(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:books_receipt_pdf", args=[obj.pk]),
            _("PDF of %(code)s") % {"code": obj.code},
        )

    def get_urls(self):
        return [
            path(
                "<int:receipt_id>/pdf/",
                self.admin_site.admin_view(self.pdf_view),
                name="books_receipt_pdf",
            ),
            path(
                "sie/",
                self.admin_site.admin_view(self.sie_view),
                name="books_sie",
            ),
            path(
                "swish-settlement/",
                self.admin_site.admin_view(self.settlement_view),
                name="books_swish_settlement",
            ),
            *super().get_urls(),
        ]

    def pdf_view(self, request, receipt_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        receipt = get_object_or_404(Receipt, pk=receipt_id)
        response = HttpResponse(
            render_receipt_pdf(receipt, language=request.LANGUAGE_CODE),
            content_type="application/pdf",
        )
        response["Content-Disposition"] = f'inline; filename="{receipt.code}.pdf"'
        return response

    def _range_form(self, request, form_class):
        """The date range asked for (bound when ``from`` is given), else
        today."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if "from" in request.GET or "to" in request.GET:
            return form_class(request.GET)
        today = timezone.localdate()
        return form_class(initial={"start": today, "end": today, "by": "day"})

    def sie_view(self, request):
        """The SIE 4i export and the receipt list (PDF) of a date range."""
        form = self._range_form(request, SieForm)
        fmt = request.GET.get("format", "")
        vouchers = None
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            by = form.cleaned_data["by"]
            organiser = current_organiser()
            if fmt == "sie":
                vouchers = build_vouchers(
                    start=start, end=end, by=by, organiser=organiser
                )
                response = HttpResponse(
                    render_sie(
                        vouchers,
                        organiser=organiser,
                        generated=timezone.localdate(),
                    ),
                    content_type="text/plain; charset=IBM437",
                )
                name = f"bokforing-{start}-{end}-{by}.si"
                _audit(
                    request,
                    lambda: (
                        _("Exported the SIE file %(start)s – %(end)s")
                        % {"start": start, "end": end}
                    ),
                )
            elif fmt == "pdf":
                response = HttpResponse(
                    render_receipt_list_pdf(
                        receipts_issued(start, end),
                        start=start,
                        end=end,
                        seller=organiser.legal_name,
                        language=request.LANGUAGE_CODE,
                    ),
                    content_type="application/pdf",
                )
                name = f"kvitton-{start}-{end}.pdf"
                _audit(
                    request,
                    lambda: (
                        _("Exported the receipt list %(start)s – %(end)s")
                        % {"start": start, "end": end}
                    ),
                )
            elif fmt:
                return HttpResponse(_("Unknown format."), status=400)
            else:
                vouchers = build_vouchers(
                    start=start, end=end, by=by, organiser=organiser
                )
                response = None
            if response is not None:
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
        return _render(
            self,
            request,
            "sie.html",
            {
                "title": _("SIE export and receipt list"),
                "form": form,
                "vouchers": vouchers,
                "query": request.GET.urlencode(),
            },
            status=400 if form.is_bound and form.errors else 200,
        )

    def settlement_view(self, request):
        """The Swish settlement per day, on the page or as CSV."""
        from ticketshop.backoffice import exports
        from ticketshop.payments.settlement import settlement, settlement_csv_rows

        form = self._range_form(request, DateRangeForm)
        fmt = request.GET.get("format", "")
        days = None
        if form.is_bound and form.is_valid():
            start, end = form.cleaned_data["start"], form.cleaned_data["end"]
            days = settlement(start, end)
            if fmt == "csv":
                header, rows = settlement_csv_rows(days)
                response = HttpResponse(
                    exports.to_csv(header, rows),
                    content_type="text/csv; charset=utf-8",
                )
                response["Content-Disposition"] = (
                    f'attachment; filename="swish-{start}-{end}.csv"'
                )
                _audit(
                    request,
                    lambda: (
                        _("Exported the Swish settlement %(start)s – %(end)s")
                        % {"start": start, "end": end}
                    ),
                )
                return response
            if fmt:
                return HttpResponse(_("Unknown format."), status=400)
        return _render(
            self,
            request,
            "swish_settlement.html",
            {
                "title": _("Swish settlement"),
                "form": form,
                "days": days,
                "query": request.GET.urlencode(),
            },
            status=400 if form.is_bound and form.errors else 200,
        )


def _audit(request, summary) -> None:
    from ticketshop.backoffice import services as backoffice

    backoffice.audit(request.user, "export", summary)


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["requested_at", "order_reference", "name", "org_number", "status"]
    list_filter = ["status"]
    search_fields = ["order__reference", "name", "org_number"]
    list_select_related = ["order"]

    @admin.display(description=gettext_lazy("order"), ordering="order__reference")
    def order_reference(self, obj):
        return obj.order.reference

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        invoice = get_object_or_404(
            InvoiceRequest.objects.select_related("order"), pk=object_id
        )
        may_handle = request.user.has_perm("books.change_invoicerequest") and bool(
            INVOICE_REQUEST.allowed("mark_sent", invoice)
        )
        status = 200
        if request.method == "POST":
            if not request.user.has_perm("books.change_invoicerequest"):
                raise PermissionDenied
            try:
                handle_invoice_request(
                    user=request.user,
                    request_id=invoice.pk,
                    sent=request.POST.get("outcome") == "sent",
                    note=request.POST.get("note", "")[:2000],
                )
            except TransitionNotAllowed:
                messages.error(request, _("This request was handled already."))
                status = 409
            else:
                messages.success(request, _("The invoice request is recorded."))
                return HttpResponseRedirect(
                    reverse("admin:books_invoicerequest_changelist")
                )
        return _render(
            self,
            request,
            "invoice_request.html",
            {
                "title": _("Invoice request"),
                "invoice": invoice,
                "receipts": invoice.order.receipts.order_by("number"),
                "may_handle": may_handle,
            },
            status=status,
        )
