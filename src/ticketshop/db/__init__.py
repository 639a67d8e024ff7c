"""The shop's one database layer for what the ORM cannot do fast enough.

- ``db.sql``: the one SQL builder. Every hand-written statement is built
  from model metadata here (quoted table and column names taken from
  ``Model._meta``), once per process and database alias; no module writes a
  column name as a literal or parses SQL that the ORM generated.
- ``db.locks``: the one seat lock (PostgreSQL row lock with ``lock_timeout``)
  and the one SQLite writer gate (a timeout that answers ``Busy``), shared
  by reservations, payments and door scans.
"""
