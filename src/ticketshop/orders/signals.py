from django.dispatch import Signal

# Sent with ``order=`` before a session's new reservation replaces an order
# whose Swish payment is still pending, outside any transaction, so that the
# payments app can cancel that payment request (network I/O holds no lock).
# An order that the cancel settles as paid is kept; see reserve_tickets.
pending_order_superseded = Signal()
