"""The one SQL builder: statements written from model metadata.

Building and compiling a small ORM query took several times longer than the
database took to run it (bench/rush.py). The hot paths (reservation under
the seat lock, the live-seat count, door scans) run a few fixed statements,
so those are written once per process and database alias from
``Model._meta`` and the backend's quoting, and run on a plain cursor. Values
go in as parameters, prepared the way ``save()`` prepares them, and come out
converted the way the ORM converts them.

Every hand-written statement of the shop is built with the helpers here:
``table(model_or_table, alias=None)`` and ``column(model_or_table, field,
alias=None)`` (a field's name in, its quoted column out), so a renamed
column is renamed everywhere; no module outside this one writes a column
name as text, and nothing parses SQL that the ORM generated. Where each
statement lives: docs/development.md, "Where the SQL lives".
"""

from collections.abc import Iterable, Sequence
from functools import cache

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Field, Model


def quote(name: str, *, using: str = DEFAULT_DB_ALIAS) -> str:
    """Return a table, column or alias name quoted for the database."""
    return connections[using].ops.quote_name(name)


def table(
    model_or_table: type[Model] | str,
    alias: str | None = None,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> str:
    """Return the quoted table name of a model (or a table named as text),
    followed by ``alias`` if given: ``"orders_order" o``."""
    name = (
        model_or_table if isinstance(model_or_table, str) else _db_table(model_or_table)
    )
    quoted = quote(name, using=using)
    return f"{quoted} {alias}" if alias else quoted


def column(
    model_or_table: type[Model] | str,
    field: str,
    alias: str | None = None,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> str:
    """Return the quoted column of a model's field, the one alias/column
    function of every hand-written statement.

    ``field`` is a field's name (``"pk"`` for the key, ``"event"`` for the
    foreign key's ``event_id``); for a table named as text it is the column's
    name. ``alias`` qualifies the column: ``None`` by the quoted table name,
    ``"o"`` by that table alias, ``""`` not at all (for ``SET`` and
    ``INSERT`` column lists). Names are quoted as the database ``using``
    quotes them (SQLite and PostgreSQL quote alike).
    """
    if isinstance(model_or_table, str):
        table_name, name = model_or_table, field
    else:
        meta = model_or_table._meta
        table_name = meta.db_table
        name = meta.pk.column if field == "pk" else meta.get_field(field).column
    quoted = quote(name, using=using)
    if alias == "":
        return quoted
    return f"{alias or quote(table_name, using=using)}.{quoted}"


def _db_table(model: type[Model]) -> str:
    return model._meta.db_table


def value(alias: str, model: type[Model], field: str, data):
    """Return ``data`` prepared for the database as the field's value."""
    return model._meta.get_field(field).get_db_prep_save(data, connections[alias])


def placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


@cache
def select_columns(alias: str, model: type[Model], of: str | None = None) -> str:
    """Return the model's concrete columns, qualified by its table (or by the
    alias ``of``), in field order."""
    quote = connections[alias].ops.quote_name
    table_name = of or quote(model._meta.db_table)
    return ", ".join(
        f"{table_name}.{quote(f.column)}" for f in model._meta.concrete_fields
    )


def concrete_fields(model: type[Model], *, without_key: bool = True) -> list[Field]:
    """The model's columns in field order, without the key by default."""
    return [
        f for f in model._meta.concrete_fields if not (without_key and f.primary_key)
    ]


@cache
def insert_rows_sql(alias: str, model: type[Model], rows: int) -> str:
    """Return an INSERT of ``rows`` rows of every concrete field but the key,
    returning the new keys."""
    quote = connections[alias].ops.quote_name
    fields = _insert_fields(model)
    row = f"({', '.join(['%s'] * len(fields))})"
    # Only quoted names from the models go into the text; values are params.
    return (
        f"INSERT INTO {quote(model._meta.db_table)}"  # noqa: S608
        f" ({', '.join(quote(f.column) for f in fields)})"
        f" VALUES {', '.join([row] * rows)}"
        f" RETURNING {quote(model._meta.pk.column)}"
    )


@cache
def increment_sql(
    alias: str, model: type[Model], keys: tuple[str, ...], counter: str
) -> str:
    """Return one statement that adds 1 to ``counter`` of the row whose
    ``keys`` (a unique constraint) are the parameters, or inserts that row
    with 1, and returns the counter: an upsert with RETURNING (PostgreSQL,
    SQLite 3.35 and later). The row stays locked (PostgreSQL) until the
    transaction ends; the counter never skips a value, because a rolled-back
    increment is rolled back with it."""
    using = alias
    name = table(model, using=using)
    key_columns = ", ".join(column(model, k, "", using=using) for k in keys)
    count = column(model, counter, "", using=using)
    # Only quoted names from the models go into the text; values are params.
    return (
        f"INSERT INTO {name} ({key_columns}, {count})"  # noqa: S608
        f" VALUES ({placeholders(len(keys))}, 1)"
        f" ON CONFLICT ({key_columns})"
        f" DO UPDATE SET {count} = {column(model, counter, using=using)} + 1"
        f" RETURNING {count}"
    )


def insert_params(alias: str, objs: Iterable[Model]) -> list:
    """Return the values of ``insert_rows_sql`` for the instances, prepared
    for the database as ``save()`` prepares them."""
    connection = connections[alias]
    params = []
    for obj in objs:
        for field in _insert_fields(type(obj)):
            params.append(
                field.get_db_prep_save(getattr(obj, field.attname), connection)
            )
    return params


def mark_saved(alias: str, obj: Model, pk: int) -> Model:
    """Give an instance inserted with ``insert_rows_sql`` its key and state."""
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = alias
    return obj


class RowReader:
    """Turn a model's columns (as ``select_columns`` lists them) in a result
    row into an instance, with the ORM's conversions (SQLite returns
    datetimes as text and decimals as floats)."""

    def __init__(self, alias: str, model: type[Model]) -> None:
        connection = connections[alias]
        self.alias = alias
        self.model = model
        fields = model._meta.concrete_fields
        self.width = len(fields)
        self.names = [f.attname for f in fields]
        self.converters = [
            (index, converters, col)
            for index, (converters, col) in enumerate(
                _converters(connection, model, f) for f in fields
            )
            if converters
        ]

    def read(self, row: Sequence, start: int = 0) -> Model:
        values = list(row[start : start + self.width])
        connection = connections[self.alias]
        for index, converters, col in self.converters:
            value = values[index]
            for converter in converters:
                value = converter(value, col, connection)
            values[index] = value
        return self.model.from_db(self.alias, self.names, values)


@cache
def row_reader(alias: str, model: type[Model]) -> RowReader:
    return RowReader(alias, model)


def read_models(alias: str, row: Sequence, *models: type[Model]) -> list[Model]:
    """One instance of each model from a row holding their columns one model
    after the other (``select_columns`` of each, in that order)."""
    found, start = [], 0
    for model in models:
        reader = row_reader(alias, model)
        found.append(reader.read(row, start))
        start += reader.width
    return found


def fetch_instance(
    alias: str, model: type[Model], statement: str, params: Sequence = ()
) -> Model | None:
    """Run a statement of ``prepared_cursor`` whose first row starts with the
    model's columns; that row as an instance, or None without a row."""
    with prepared_cursor(alias) as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return None if row is None else row_reader(alias, model).read(row)


def _insert_fields(model: type[Model]) -> list[Field]:
    return concrete_fields(model)


def _converters(connection, model: type[Model], field: Field):
    # As the SQL compiler collects them: the backend's, then the field's.
    col = field.get_col(model._meta.db_table)
    return (
        [
            *connection.ops.get_db_converters(col),
            *field.get_db_converters(connection),
        ],
        col,
    )


def prepared_cursor(alias: str):
    """Return a cursor of the alias's connection whose statements PostgreSQL
    parses and plans once per connection (a prepared statement each) and
    then only binds and runs; on other databases, the usual cursor.

    For the few statements that run on every reservation: planning the
    reservation's statement took PostgreSQL about a third of the time it
    took to run it (bench/README.md). It binds values on the server, so a
    statement sent through it is one statement. Wrapped as Django wraps its
    own cursors: errors become ``django.db`` errors and the statements
    reach ``execute_wrapper`` hooks (``connection.queries`` lists them, but
    without their text, which Django reads from client-side binding only).
    """
    connection = connections[alias]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.validate_thread_sharing()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _preparing_cursor_class()(connection.connection)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


@cache
def _preparing_cursor_class():
    import psycopg

    class PreparingCursor(psycopg.Cursor):
        """Binds on the server and prepares every statement it runs."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            if prepare is None:
                prepare = True
            return super().execute(query, params, prepare=prepare, binary=binary)

    return PreparingCursor
