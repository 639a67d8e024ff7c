"""Reads for scanning: the ticket behind a scanned id, accounts, check-in counts."""

from django.db.models import Count, Q, QuerySet

from ticketshop.orders.models import OrderStatus, Ticket

from .models import ScannerAccount


def normalise_external_id(external_id: str) -> str:
    """Return the id as stored: without surrounding spaces, in upper case."""
    return external_id.strip().upper()


def get_ticket_for_scan(*, external_id: str) -> Ticket | None:
    """Return the ticket with this id (any case), with its order, event and type."""
    key = normalise_external_id(external_id)
    if not key:
        return None
    tickets = Ticket.objects.select_related("order", "event", "ticket_type")
    # Ids are issued in upper case, so the exact match on the unique index
    # finds them; the case-insensitive match (no index) covers ids entered
    # by hand in another case.
    return (
        tickets.filter(external_id=key).first()
        or tickets.filter(external_id__iexact=key).first()
    )


def list_active_scanner_accounts() -> list[ScannerAccount]:
    return list(
        ScannerAccount.objects.filter(is_active=True)
        .only("id", "name", "password", "updated_at")
        .order_by("id")
    )


def get_scanner_event_ids(*, account_id: int) -> list[int]:
    """Return the events an account is limited to (empty: every event)."""
    through = ScannerAccount.events.through
    return list(
        through.objects.filter(scanneraccount_id=account_id).values_list(
            "chapterevent_id", flat=True
        )
    )


def annotate_checkins(queryset: QuerySet) -> QuerySet:
    """Annotate events with sold_count (paid tickets) and admitted_count
    (paid tickets used at least once)."""
    paid = Q(tickets__order__status=OrderStatus.PAID)
    return queryset.annotate(
        sold_count=Count("tickets", filter=paid),
        admitted_count=Count("tickets", filter=paid & Q(tickets__times_used__gt=0)),
    )
