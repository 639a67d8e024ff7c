"""The back office inside Django's admin site (its login, look, dark mode).

"Sales and guests" in the admin index opens the dashboard of all events;
from there, per event: its dashboard, complimentary and manual tickets,
exports, the door list and mass e-mail; per order: cancel and refund (whole
or single tickets), exchange, correct the e-mail and resend. Each view
checks its own permission (the roles migration gives them to the groups).
"""

import secrets
from decimal import Decimal

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ticketshop.admin_permissions import ViewOnlyMixin
from ticketshop.api import parse_id
from ticketshop.delivery.content import kronor
from ticketshop.errors import ShopError
from ticketshop.events.models import ChapterEvent, TicketOffer
from ticketshop.orders import lifecycle  # noqa: F401 (views merged from other branches)
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.history import order_history
from ticketshop.orders.lifecycle import TransitionNotAllowed
from ticketshop.orders.models import Order, PaymentMethod, RefundState
from ticketshop.payments.errors import (
    MoreThanDueAtDoor,
    NothingDueAtDoor,
    RefundNotPossible,
)
from ticketshop.payments.models import DoorPaymentMethod, SwishRefund
from ticketshop.payments.selectors import list_stuck_refunds
from ticketshop.previews import (
    PreviewRefused,
    confirm_preview,
    refusal_message,
    sign_preview,
)

from . import exports, selectors, services
from .chart import sales_svg
from .confirmations import (
    CancelForm,
    cancel_preview,
    exchange_preview,
    mailing_preview,
)
from .forms import CollectForm, ExchangeForm, FixForm, IssueForm, MailingForm
from .models import (
    AUDIT_ACTIONS,
    AuditEntry,
    Mailing,
    MailStatus,
    OutgoingMail,
    SalesOverview,
)
from .order_actions import order_admin_actions  # noqa: F401 (shop/admin.py)

SUBJECT_MAX = Mailing._meta.get_field("subject").max_length

P = "backoffice."


def _require(request, perm: str) -> None:
    if not request.user.has_perm(P + perm):
        raise PermissionDenied


def _int(value, default=0) -> int:
    """A count or id typed into a form; ``default`` for anything else
    (parse_id refuses absurdly long numbers before int() would raise)."""
    number = parse_id(value)
    return default if number is None else number


def _exchange_money(preview) -> dict | None:
    """The exchange preview's amounts as numbers, for the template."""
    if not preview:
        return None
    keys = ("old", "new", "difference", "due_before", "due_at_door", "owed_back")
    return {k: Decimal(preview[k]) for k in keys}


@admin.register(SalesOverview)
class BackOfficeAdmin(ViewOnlyMixin, admin.ModelAdmin):
    """The dashboard and the organiser's tools, as views of one admin."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(P + "view_dashboard")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("dashboard/", view(self.dashboard), name="backoffice_dashboard"),
            path(
                "event/<int:event_id>/",
                view(self.event_dashboard),
                name="backoffice_event",
            ),
            path(
                "event/<int:event_id>/issue/",
                view(self.issue_view),
                name="backoffice_issue",
            ),
            path(
                "event/<int:event_id>/attendees.<str:fmt>",
                view(self.attendees_export),
                name="backoffice_attendees",
            ),
            path(
                "event/<int:event_id>/door-list.pdf",
                view(self.door_list),
                name="backoffice_door_list",
            ),
            path("bookkeeping/", view(self.bookkeeping), name="backoffice_bookkeeping"),
            path(
                "order/<int:order_id>/cancel/",
                view(self.cancel_view),
                name="backoffice_cancel",
            ),
            path(
                "order/<int:order_id>/retry-refund/",
                view(self.retry_refund_view),
                name="backoffice_retry_refund",
            ),
            path(
                "order/<int:order_id>/exchange/",
                view(self.exchange_view),
                name="backoffice_exchange",
            ),
            path(
                "order/<int:order_id>/collect/",
                view(self.collect_view),
                name="backoffice_collect",
            ),
            path("find/", view(self.find_view), name="backoffice_find"),
            path(
                "order/<int:order_id>/fix/",
                view(self.fix_view),
                name="backoffice_fix",
            ),
            path("mailing/", view(self.mailing_view), name="backoffice_mailing"),
            path(
                "mailing/<int:mailing_id>/",
                view(self.mailing_progress),
                name="backoffice_mailing_progress",
            ),
            path("refunds/", view(self.refunds_view), name="backoffice_refunds"),
            *super().get_urls(),
        ]

    def _context(self, request, title: str, **extra):
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            "can": {
                name: request.user.has_perm(P + name)
                for name in (
                    "view_dashboard",
                    "issue_tickets",
                    "refund_orders",
                    "exchange_orders",
                    "fix_orders",
                    "export_data",
                    "view_door_list",
                    "send_mailings",
                )
            },
            # Links to pages outside the back office, shown only to who may
            # open them (no link leads to a 403).
            "can_see": {
                "audit_log": request.user.has_perm(P + "view_auditentry"),
                "orders": request.user.has_perm("orders.view_order"),
            },
            **extra,
        }

    def _render(self, request, template: str, context, status: int = 200):
        request.current_app = self.admin_site.name
        return TemplateResponse(
            request, f"admin/backoffice/{template}", context, status=status
        )

    # --- Dashboard ---------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        return self.dashboard(request)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return self.event_dashboard(request, _int(object_id))

    def dashboard(self, request):
        _require(request, "view_dashboard")
        now = timezone.now()
        events = list(
            ChapterEvent.objects.filter(
                event_at__gte=now - timezone.timedelta(days=2)
            ).order_by("event_at")[:50]
        )
        rows = [selectors.event_figures(e, now=now) for e in events]
        total_seats = sum(r.seats for r in rows)
        chart = sales_svg(
            selectors.all_events_sales(events),
            capacity=total_seats,
            title=_("Tickets sold, all upcoming events"),
        )
        totals = {
            "seats": total_seats,
            "sold": sum(r.sold for r in rows),
            "held": sum(r.held for r in rows),
            "left": sum(r.left for r in rows),
            "revenue": sum((r.revenue for r in rows), Decimal("0")),
            "vat": sum((r.vat for r in rows), Decimal("0")),
            "net": sum((r.net for r in rows), Decimal("0")),
            "refunded": sum((r.refunded for r in rows), Decimal("0")),
            "complimentary": sum(r.complimentary for r in rows),
            "admitted": sum(r.admitted for r in rows),
        }
        context = self._context(
            request,
            _("Sales and guests"),
            rows=rows,
            totals=totals,
            is_dashboard=True,
            chart=chart,
            refresh=any(selectors.in_show(e, now) for e in events),
            refunds_failed=Order.objects.filter(
                refund_state=RefundState.FAILED
            ).count(),
            refunds_stuck=list_stuck_refunds(now=now).count(),
            stuck_hours=settings.SWISH_REFUND_STUCK_HOURS,
            overbooked=[r for r in rows if r.overbooked],
        )
        return self._render(request, "dashboard.html", context)

    def event_dashboard(self, request, event_id: int):
        if not (
            request.user.has_perm(P + "view_dashboard")
            or request.user.has_perm(P + "view_door_list")
        ):
            raise PermissionDenied
        event = get_object_or_404(ChapterEvent, pk=event_id)
        now = timezone.now()
        figures = selectors.event_figures(event, now=now)
        audit = AuditEntry.objects.filter(event=event).select_related("order")[:50]
        context = self._context(
            request,
            event.title,
            event=event,
            f=figures,
            refresh=selectors.in_show(event, now),
            audit=audit,
            attention=Order.objects.filter(event=event, needs_attention=True).order_by(
                "-updated_at"
            )[:50],
            door_only=not request.user.has_perm(P + "view_dashboard"),
        )
        return self._render(request, "event.html", context)

    # --- Complimentary and manual tickets --------------------------------------

    def issue_view(self, request, event_id: int):
        _require(request, "issue_tickets")
        event = get_object_or_404(ChapterEvent, pk=event_id)
        offers = list(
            TicketOffer.objects.filter(event=event).select_related("ticket_type")
        )
        posted = request.method == "POST"
        values = request.POST if posted else {}
        form = IssueForm(request.POST if posted else None, offers=offers)
        errors = form.errors_in_order()
        over_capacity = None
        if posted and form.is_valid():
            try:
                order = services.issue_tickets(
                    user=request.user, request=form.issue_request(event.pk)
                )
            except OutOfTickets as exc:
                over_capacity = exc.tickets_left
                errors.append(
                    _(
                        "Only %(left)d seats are left. Tick “beyond capacity” "
                        "to issue them anyway."
                    )
                    % {"left": exc.tickets_left}
                )
            except (ValueError, ShopError) as exc:
                errors.append(str(exc))
            else:
                messages.success(
                    request,
                    _("Order %(ref)s issued; the tickets are e-mailed to %(email)s.")
                    % {"ref": order.reference, "email": order.email},
                )
                return HttpResponseRedirect(
                    reverse("admin:backoffice_event", args=[event.pk])
                )
        context = self._context(
            request,
            _("Issue tickets: %(event)s") % {"event": event.title},
            event=event,
            offers=[
                (o, values.get(f"count_{o.pk}", ""), values.get(f"price_{o.pk}", ""))
                for o in offers
            ],
            methods=[(m, PaymentMethod(m).label) for m in services.ISSUE_METHODS],
            values=values,
            errors=errors,
            over_capacity=over_capacity,
            left=selectors.event_figures(event).left,
        )
        return self._render(
            request, "issue.html", context, status=400 if errors else 200
        )

    # --- Cancel and refund -----------------------------------------------------

    def cancel_view(self, request, order_id: int):
        _require(request, "refund_orders")
        order = get_object_or_404(Order.objects.select_related("event"), pk=order_id)
        live = list(
            order.tickets.filter(cancelled_at__isnull=True).select_related(
                "ticket_type"
            )
        )
        allowed = services.cancel_allowed(order)
        posted = request.method == "POST"
        form = CancelForm(request.POST if posted else None, live=live)
        errors: list[str] = []
        status = 200
        if not posted:
            # The first page proposes the whole order, visibly ticked.
            chosen_ids = [t.pk for t in live]
        elif form.is_valid():
            chosen_ids = form.cleaned_data["ticket"]
        else:
            chosen_ids = []
            errors.extend(form.errors["ticket"])
            status = 400
        preview = cancel_preview(order, live, chosen_ids) if chosen_ids else None
        if posted and request.POST.get("confirm") == "yes" and preview and allowed:
            try:
                shown = confirm_preview(request, action="cancel", preview=preview)
            except PreviewRefused as exc:
                errors.append(refusal_message(exc.reason))
                status = 409
            else:
                return self._cancel(request, order, shown, remaining=len(live))
        context = self._context(
            request,
            _("Cancel and refund: order %(ref)s") % {"ref": order.reference},
            order=order,
            live=live,
            chosen=[t for t in live if t.pk in chosen_ids],
            chosen_ids=chosen_ids,
            preview=preview,
            snapshot=sign_preview(
                action="cancel", user_id=request.user.pk, content=preview
            )
            if preview
            else "",
            amount=Decimal(preview["amount"]) if preview else None,
            errors=errors,
            allowed=allowed,
            refund_too_late="" if allowed else services.refund_too_late_text(order),
            seats=len(chosen_ids),
        )
        return self._render(request, "cancel.html", context, status=status)

    def _cancel(self, request, order, shown: dict, *, remaining: int):
        """Cancel what the confirmed preview ``shown`` showed; say what happened."""
        tickets = shown["form"]["tickets"]
        try:
            if shown["whole"]:
                ids = services.cancel_order(user=request.user, order_id=order.pk)
            else:
                ids = services.cancel_tickets(
                    user=request.user, order_id=order.pk, ticket_ids=tickets
                )
        except (TransitionNotAllowed, ShopError) as exc:
            messages.error(
                request,
                _("Nothing was cancelled: %(why)s")
                % {"why": str(exc) or _("the refund is not possible")},
            )
        else:
            refund = (
                _(", refund %(ids)s requested") % {"ids": ", ".join(ids)} if ids else ""
            )
            if shown["whole"]:
                text = _("Order %(ref)s: cancelled%(refund)s; the buyer is told.") % {
                    "ref": order.reference,
                    "refund": refund,
                }
            else:
                left = remaining - len(tickets)
                text = _("%(cancelled)s; %(valid)s%(refund)s; the buyer is told.") % {
                    "cancelled": ngettext(
                        "%(count)d ticket cancelled in order %(ref)s",
                        "%(count)d tickets cancelled in order %(ref)s",
                        len(tickets),
                    )
                    % {"count": len(tickets), "ref": order.reference},
                    "valid": ngettext(
                        "%(count)d ticket still valid",
                        "%(count)d tickets still valid",
                        left,
                    )
                    % {"count": left},
                    "refund": refund,
                }
            messages.success(request, text)
        return HttpResponseRedirect(
            reverse("admin:orders_order_change", args=[order.pk])
        )

    def retry_refund_view(self, request, order_id: int):
        _require(request, "refund_orders")
        order = get_object_or_404(Order, pk=order_id)
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:backoffice_refunds"))
        try:
            ids = services.retry_refund(user=request.user, order_id=order.pk)
        except RefundNotPossible:
            messages.error(request, _("Nothing is owed to this buyer."))
        else:
            messages.success(
                request,
                _("Order %(ref)s: refund %(ids)s requested again.")
                % {"ref": order.reference, "ids": ", ".join(ids)},
            )
        return HttpResponseRedirect(reverse("admin:backoffice_refunds"))

    def refunds_view(self, request):
        _require(request, "refund_orders")
        orders = (
            Order.objects.filter(
                Q(refund_state__in=[RefundState.FAILED, RefundState.PENDING])
            )
            .select_related("event")
            .order_by("-updated_at")[:200]
        )
        refunds = {
            r.payment.order_id: r
            for r in SwishRefund.objects.filter(
                payment__order__in=list(orders)
            ).select_related("payment")
        }
        stuck = list(list_stuck_refunds())
        context = self._context(
            request,
            _("Refunds to follow up"),
            rows=[(o, refunds.get(o.pk)) for o in orders],
            stuck=stuck,
            stuck_ids={r.pk for r in stuck},
            stuck_hours=settings.SWISH_REFUND_STUCK_HOURS,
        )
        return self._render(request, "refunds.html", context)

    # --- Exchange --------------------------------------------------------------

    def exchange_view(self, request, order_id: int):
        _require(request, "exchange_orders")
        order = get_object_or_404(Order.objects.select_related("event"), pk=order_id)
        live = list(
            order.tickets.filter(cancelled_at__isnull=True).select_related(
                "ticket_type"
            )
        )
        old_types = sorted({t.ticket_type_id for t in live})
        # The night may come from the dashboard's link (GET) or the form.
        data = request.GET.dict()
        data.update({k: v for k, v in request.POST.dict().items() if v})
        form = ExchangeForm(data, old_types=old_types)
        form.is_valid()  # lenient fields: never an error
        target = ChapterEvent.objects.filter(pk=form.cleaned_data["event"]).first()
        target_offers = (
            list(TicketOffer.objects.filter(event=target).select_related("ticket_type"))
            if target
            else []
        )
        type_map = form.type_map({o.ticket_type_id for o in target_offers})
        preview = None
        if target and len(type_map) == len(old_types) and live:
            preview = exchange_preview(
                order, live, event_id=target.pk, type_map=type_map
            )
        errors, status = [], 200
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            done, errors = self._confirm_exchange(request, order, target, preview)
            if done is not None:
                return done
            status = 409
        context = self._context(
            request,
            _("Exchange: order %(ref)s") % {"ref": order.reference},
            order=order,
            live=live,
            events=ChapterEvent.objects.filter(
                event_at__gte=timezone.now() - timezone.timedelta(days=1)
            ).order_by("event_at"),
            target=target,
            old_types=[
                (t, next(x.ticket_type for x in live if x.ticket_type_id == t))
                for t in old_types
            ],
            type_map=type_map,
            target_offers=target_offers,
            preview=preview,
            money=_exchange_money(preview),
            snapshot=sign_preview(
                action="exchange", user_id=request.user.pk, content=preview
            )
            if preview
            else "",
            errors=errors,
            allowed=services.exchange_allowed(order),
        )
        return self._render(request, "exchange.html", context, status=status)

    def _confirm_exchange(self, request, order, target, preview):
        """ "Yes" on the exchange page: the use case on the preview the
        organiser saw, or the reasons it was refused (409)."""
        if preview is None:
            # "Yes" with a night whose ticket types are not chosen yet.
            return None, [refusal_message("changed")]
        try:
            shown = confirm_preview(request, action="exchange", preview=preview)
            result = services.exchange_order(
                user=request.user,
                order_id=order.pk,
                event_id=shown["form"]["event"],
                type_map=dict(shown["form"]["types"]),
            )
        except PreviewRefused as exc:
            return None, [refusal_message(exc.reason)]
        except OutOfTickets as exc:
            return None, [
                _("Does not fit: only %(left)d seats are left there.")
                % {"left": exc.tickets_left}
            ]
        except (TransitionNotAllowed, ShopError, ValueError) as exc:
            return None, [str(exc)]
        messages.success(
            request,
            _("Order %(ref)s moved to %(event)s; new tickets e-mailed.")
            % {"ref": order.reference, "event": target.title},
        )
        return HttpResponseRedirect(
            reverse("admin:orders_order_change", args=[result.order.pk])
        ), []

    # --- Money due at the door ------------------------------------------------

    def collect_view(self, request, order_id: int):
        """Record a payment at the door (cash or Swish at the door) of an
        order that owes money there; the form's key makes a second send of
        the same form collect nothing more."""
        _require(request, "refund_orders")
        order = get_object_or_404(Order.objects.select_related("event"), pk=order_id)
        error = ""
        amount_text = str(order.due_at_door)
        method = DoorPaymentMethod.CASH
        key = secrets.token_hex(16)
        if request.method == "POST":
            form = CollectForm(request.POST)
            amount_text = form.amount_text()
            method = request.POST.get("method", "")
            key = (request.POST.get("key", "")[:64]) or key
            error = form.error()
            if not error:
                try:
                    payment = services.collect_at_door(
                        order_id=order.pk,
                        amount=form.cleaned_data["amount"],
                        method=form.cleaned_data["method"],
                        key=f"backoffice:{key}",
                        user=request.user,
                    )
                except NothingDueAtDoor:
                    error = _("Nothing is due at the door for this order.")
                except MoreThanDueAtDoor as exc:
                    error = _(
                        "More than is due: the order owes %(due)s kr at the door."
                    ) % {"due": kronor(exc.due)}
                else:
                    messages.success(
                        request,
                        _("Order %(ref)s: %(amount)s kr paid at the door (%(method)s).")
                        % {
                            "ref": order.reference,
                            "amount": kronor(payment.amount),
                            "method": payment.get_method_display(),
                        },
                    )
                    return HttpResponseRedirect(
                        reverse("admin:backoffice_collect", args=[order.pk])
                    )
            order.refresh_from_db()
        context = self._context(
            request,
            _("Record payment at the door: %(ref)s") % {"ref": order.reference},
            order=order,
            error=error,
            amount=amount_text,
            method=method,
            methods=DoorPaymentMethod.choices,
            key=key,
            payments=order.door_payments.order_by("recorded_at", "pk"),
        )
        return self._render(
            request, "collect.html", context, status=400 if error else 200
        )

    # --- Find and fix ----------------------------------------------------------

    def find_view(self, request):
        _require(request, "fix_orders")
        query = request.GET.get("q", "")
        results = list(services.search_orders(query)[:100]) if query else []
        context = self._context(
            request, _("Find an order"), query=query, results=results
        )
        return self._render(request, "find.html", context)

    def fix_view(self, request, order_id: int):
        _require(request, "fix_orders")
        order = get_object_or_404(Order, pk=order_id)
        form = FixForm(request.POST if request.method == "POST" else None)
        error = ""
        if form.is_bound and form.resend_only:
            try:
                services.resend_order(user=request.user, order_id=order.pk)
            except ShopError:
                messages.error(request, _("Only a paid order's tickets are sent."))
            else:
                messages.success(request, _("The tickets are sent again."))
            return HttpResponseRedirect(
                reverse("admin:backoffice_fix", args=[order.pk])
            )
        if form.is_bound and form.is_valid():
            email = form.cleaned_data["email"]
            unchanged = email == order.email
            services.change_email(user=request.user, order_id=order.pk, email=email)
            messages.success(
                request,
                _("The tickets are sent again.")
                if unchanged
                else _("E-mail changed to %(email)s; tickets resent.")
                % {"email": email},
            )
            return HttpResponseRedirect(
                reverse("admin:backoffice_fix", args=[order.pk])
            )
        error = form.error() if form.is_bound else ""
        context = self._context(
            request,
            _("Correct order %(ref)s") % {"ref": order.reference},
            order=order,
            error=error,
            # A refused address is shown again to be corrected, not lost.
            email=request.POST.get("email", "") if error else order.email,
            audit=AuditEntry.objects.filter(order=order)[:50],
            history=order_history(order.pk),
        )
        return self._render(request, "fix.html", context, status=400 if error else 200)

    # --- Exports ---------------------------------------------------------------

    def attendees_export(self, request, event_id: int, fmt: str):
        _require(request, "export_data")
        event = get_object_or_404(ChapterEvent, pk=event_id)
        header, rows = exports.attendee_rows(event)
        name = slugify(event.title) or f"event-{event.pk}"
        if fmt == "csv":
            response = HttpResponse(
                exports.to_csv(header, rows), content_type="text/csv; charset=utf-8"
            )
        elif fmt == "xlsx":
            response = HttpResponse(
                exports.to_xlsx(header, rows, title=event.title),
                content_type="application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet",
            )
        else:
            return HttpResponse(status=404)
        response["Content-Disposition"] = (
            f'attachment; filename="{name}-attendees.{fmt}"'
        )
        services.audit(
            request.user,
            "export",
            lambda: _("Exported the attendee list (%(fmt)s)") % {"fmt": fmt.upper()},
            event_id=event.pk,
        )
        return response

    def door_list(self, request, event_id: int):
        if not (
            request.user.has_perm(P + "view_door_list")
            or request.user.has_perm(P + "export_data")
        ):
            raise PermissionDenied
        event = get_object_or_404(ChapterEvent, pk=event_id)
        response = HttpResponse(
            exports.door_list_pdf(event), content_type="application/pdf"
        )
        name = slugify(event.title) or f"event-{event.pk}"
        response["Content-Disposition"] = f'inline; filename="{name}-door-list.pdf"'
        return response

    def bookkeeping(self, request):
        _require(request, "export_data")
        today = timezone.localdate()
        start = parse_date(request.GET.get("from", "") or "") or today.replace(day=1)
        end = parse_date(request.GET.get("to", "") or "") or today
        fmt = request.GET.get("format", "")
        if fmt in ("csv", "xlsx"):
            if end < start:
                return HttpResponse(_("The end is before the start."), status=400)
            header, rows = exports.bookkeeping_rows(start, end)
            name = f"bookkeeping-{start}-{end}.{fmt}"
            if fmt == "csv":
                response = HttpResponse(
                    exports.to_csv(header, rows),
                    content_type="text/csv; charset=utf-8",
                )
            else:
                response = HttpResponse(
                    exports.to_xlsx(header, rows, title=_("Bookkeeping")),
                    content_type="application/vnd.openxmlformats-officedocument"
                    ".spreadsheetml.sheet",
                )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            services.audit(
                request.user,
                "export",
                lambda: (
                    _("Exported bookkeeping %(start)s – %(end)s")
                    % {"start": start, "end": end}
                ),
            )
            return response
        context = self._context(request, _("Bookkeeping export"), start=start, end=end)
        return self._render(request, "bookkeeping.html", context)

    # --- Mass e-mail -----------------------------------------------------------

    def mailing_view(self, request):
        _require(request, "send_mailings")
        events = ChapterEvent.objects.order_by("-event_at")[:100]
        posted = request.method == "POST"
        form = MailingForm(request.POST if posted else request.GET)
        chosen, subject, body, recipients = form.values()
        errors = form.errors_in_order() if posted else []
        preview = None
        if request.method == "POST" and not errors:
            preview = mailing_preview(
                event_ids=chosen, subject=subject, body=body, recipients=recipients
            )
        refused = ""
        if preview and request.POST.get("confirm") == "yes":
            try:
                shown = confirm_preview(
                    request, action="mailing", preview=preview, changed="recipients"
                )
            except PreviewRefused as exc:
                refused = refusal_message(exc.reason)
            else:
                # What the preview showed, word for word.
                mailing = services.start_mailing(
                    user=request.user,
                    event_ids=shown["form"]["events"],
                    subject=shown["form"]["subject"],
                    body=shown["form"]["body"],
                )
                return HttpResponseRedirect(
                    reverse("admin:backoffice_mailing_progress", args=[mailing.pk])
                )
        context = self._context(
            request,
            _("Mass e-mail to buyers"),
            events=events,
            chosen=chosen,
            subject=subject,
            body=body,
            errors=[*errors, refused] if refused else errors,
            recipients=recipients,
            preview=preview is not None,
            snapshot=sign_preview(
                action="mailing", user_id=request.user.pk, content=preview
            )
            if preview
            else "",
        )
        status = 400 if errors else 409 if refused else 200
        return self._render(request, "mailing.html", context, status=status)

    def mailing_progress(self, request, mailing_id: int):
        _require(request, "send_mailings")
        mailing = get_object_or_404(Mailing, pk=mailing_id)
        counts = dict(
            mailing.mails.values_list("status").annotate(n=Count("pk")).order_by()
        )
        total = sum(counts.values())
        sent = counts.get(MailStatus.SENT, 0)
        context = self._context(
            request,
            _("E-mail: %(subject)s") % {"subject": mailing.subject},
            mailing=mailing,
            total=total,
            sent=sent,
            failed=counts.get(MailStatus.FAILED, 0) + counts.get(MailStatus.GAVE_UP, 0),
            percent=round(100 * sent / total) if total else 100,
            refresh=sent < total,
            mails=mailing.mails.order_by("recipient")[:1000],
        )
        return self._render(request, "mailing_progress.html", context)


class AuditActionFilter(admin.SimpleListFilter):
    """Filter by action, named in words."""

    title = gettext_lazy("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        codes = AuditEntry.objects.order_by().values_list("action", flat=True)
        return [
            (code, str(AUDIT_ACTIONS.get(code, code))) for code in sorted(set(codes))
        ]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action=self.value())
        return queryset


class AuditEntryTextMixin:
    """An audit entry's action and summary in the reader's language."""

    @admin.display(description=gettext_lazy("action"), ordering="action")
    def action_words(self, obj):
        return obj.action_label()

    @admin.display(description=gettext_lazy("what"))
    def summary_words(self, obj):
        return obj.summary_text()


@admin.register(AuditEntry)
class AuditEntryAdmin(AuditEntryTextMixin, ViewOnlyMixin, admin.ModelAdmin):
    """The audit log: read only, never deleted or edited, by anyone."""

    list_display = ["at", "username", "action_words", "summary_words", "event", "order"]
    list_filter = [AuditActionFilter, "event"]
    search_fields = ["summary", "username", "order__reference"]
    list_select_related = ["event", "order"]
    readonly_fields = [
        "at",
        "username",
        "action_words",
        "summary_words",
        "event",
        "order",
        "before",
        "after",
    ]
    fields = readonly_fields
    date_hierarchy = "at"

    def get_actions(self, request):
        # Not even a superuser's bulk delete.
        return {}


class OutgoingMailInline(admin.TabularInline):
    model = OutgoingMail
    fields = ["recipient", "status", "attempts", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0


@admin.register(Mailing)
class MailingAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["subject", "created_by", "created_at", "progress"]
    readonly_fields = ["subject", "body", "events", "created_by", "created_at"]
    fields = readonly_fields
    inlines = [OutgoingMailInline]

    @admin.display(description=gettext_lazy("sent"))
    def progress(self, obj):
        total = obj.mails.count()
        sent = obj.mails.filter(status=MailStatus.SENT).count()
        return format_html(
            '<a href="{}">{} / {}</a>',
            reverse("admin:backoffice_mailing_progress", args=[obj.pk]),
            sent,
            total,
        )


@admin.register(OutgoingMail)
class OutgoingMailAdmin(ViewOnlyMixin, admin.ModelAdmin):
    list_display = ["recipient", "subject", "status", "attempts", "sent_at", "order"]
    list_filter = ["status", "mailing"]
    search_fields = ["recipient", "subject", "order__reference"]
    fields = [
        "recipient",
        "subject",
        "body",
        "status",
        "attempts",
        "sent_at",
        "last_error",
        "mailing",
        "order",
    ]
    readonly_fields = fields


class AuditEntryInline(AuditEntryTextMixin, ViewOnlyMixin, admin.TabularInline):
    """The order's audit log, on its page."""

    model = AuditEntry
    fields = ["at", "username", "action_words", "summary_words"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    verbose_name_plural = gettext_lazy("audit log")


# Composed into the order admin by shop/admin.py.
@admin.display(description=gettext_lazy("Back office"))
def back_office_links(order) -> str:
    links = [
        (reverse("admin:backoffice_cancel", args=[order.pk]), _("Cancel / refund")),
        (reverse("admin:backoffice_exchange", args=[order.pk]), _("Exchange")),
        (
            reverse("admin:backoffice_fix", args=[order.pk]),
            _("Correct e-mail / resend"),
        ),
    ]
    if order.due_at_door > 0 or order.door_payments.exists():
        links.append(
            (
                reverse("admin:backoffice_collect", args=[order.pk]),
                _("Record payment at the door"),
            )
        )
    return format_html(
        " · ".join(['<a href="{}">{}</a>'] * len(links)),
        *[part for link in links for part in link],
    )


order_admin_readonly_fields = [back_office_links]
order_admin_inlines = [AuditEntryInline]


# The roles' groups keep their English names in the database (the roles
# migration finds them by name); the admin shows them in the reader's
# language.
ROLE_NAMES = {
    "organiser": gettext_lazy("organiser"),
    "treasurer": gettext_lazy("treasurer"),
    "door manager": gettext_lazy("door manager"),
}


class RoleGroupAdmin(GroupAdmin):
    list_display = ["role"]

    @admin.display(description=gettext_lazy("role"), ordering="name")
    def role(self, obj):
        return ROLE_NAMES.get(obj.name, obj.name)


admin.site.unregister(Group)
admin.site.register(Group, RoleGroupAdmin)
