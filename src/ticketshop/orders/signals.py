from django.dispatch import Signal

# Sent with ``order=`` before a session's new reservation replaces an order
# whose Swish payment is still pending, outside any transaction, so that the
# payments app can cancel that payment request (network I/O holds no lock).
# An order that the cancel settles as paid is kept; see reserve_tickets.
pending_order_superseded = Signal()

# Sent with ``order=`` and ``now=`` inside the transaction that marks the
# order paid (``pay``, ``confirm_free``, ``issue``), after its history row:
# the books app issues the receipt there, so that a paid order and its
# receipt number are committed together or not at all. A receiver's error
# rolls the payment back with it.
order_paid = Signal()

# Sent with ``order=``, ``ticket_ids=`` (the tickets whose sale is undone)
# and ``now=`` inside the transaction that cancels tickets of a paid order
# (``cancel_paid``, ``cancel_tickets``), before they are voided: the books
# app issues the credit receipt there.
order_sale_reversed = Signal()

# Sent with ``order=`` and ``now=`` inside the transaction of an exchange
# (``exchange``), after the new tickets exist and the old ones are voided:
# the books app issues the credit receipt of a cheaper exchange there.
order_exchanged = Signal()

# Sent with ``order=``, ``amount=``, ``method=`` (a PaymentMethod value) and
# ``now=`` inside the transaction that records money the order owed at the
# door as collected (``collect_at_door``): the books app issues the receipt
# of a dearer exchange's difference there.
door_payment_collected = Signal()

# Sent with ``event_id=`` after a transaction that freed seats of the event
# commits (a hold released, failed or swept as lapsed, a cancellation, a
# refund's cancellation, an exchange away), by ``orders.lifecycle``; the
# waiting list offers them on. A receiver runs outside any transaction and
# must be cheap for an event without a waiting list.
seats_came_back = Signal()
