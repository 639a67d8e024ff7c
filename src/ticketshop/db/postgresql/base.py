"""PostgreSQL as Django runs it, with one change: the health check.

With ``CONN_HEALTH_CHECKS`` Django asks the server (``SELECT 1``) before the
first query of every request on a kept connection, so that a server that
restarted meanwhile costs a reconnect, not a failed request. That is one
round trip per request: a third of a door scan's (two statements), and a
poll's share on a release night (bench/README.md, "scan").

A server that ends a connection says so on it: a restart, a terminated
backend or an idle timeout sends a FATAL message and closes the stream, and
from then on the idle connection's socket is readable. So an idle
connection whose socket has nothing to read is usable without asking; one
with anything to read, or not idle, is asked as Django asks and closed if
the answer fails. What this cannot see (a server gone without a word: its
host lost, the network cut) ``SELECT 1`` could not see either before its
own timeout; the request's first query then fails as it would have, and
answers 503 "Busy".
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status != TransactionStatus.IDLE:
            return super().is_usable()
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
            said_something = bool(poller.poll(0))
        except (OSError, ValueError):
            return False
        if not said_something:
            return True
        return super().is_usable()
