"""The shop's one database layer for what the ORM cannot do fast enough.

- ``db.sql``: the one SQL builder. Every hand-written statement is built
  with its ``table`` and ``column`` (quoted names taken from
  ``Model._meta``), once per process and database alias; no module writes a
  column name as a literal or parses SQL that the ORM generated.
- ``db.locks``: the SQLite writer gate and the durable transaction behind
  it (a lock not granted in time answers ``Busy``), shared by reservations,
  payments and door scans.

This package knows no model of the shop: the event's seat lock and seat
counter, which do, are ``orders.seatlock``.
"""
