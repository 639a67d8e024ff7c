"""What payments tells the apps above it (it never imports them).

``money_not_accepted``: Swish took money for an order the shop had given up
and the order could not be completed (its seats are gone, the event has
begun, or an organiser had cancelled it); sent once per recovery, inside its
transaction, with ``order`` and ``payment``. The back office mails the
organisers (``backoffice/alerts.py``).
"""

from django.dispatch import Signal

money_not_accepted = Signal()
