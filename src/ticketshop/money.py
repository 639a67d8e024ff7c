"""Money: kronor as Decimal, checked on the way in and read safely back.

Every amount a person or a file types goes through ``parse_amount`` (or the
validators of ``MoneyField``): finite, at most two decimals, within the
column's digits and at most MAX_AMOUNT. A row that got in another way (raw
SQL, SQLite keeping 1e30 or 'NaN' in a NUMERIC column, PostgreSQL's NaN) is
read as an ``InvalidAmount`` and logged, never an exception: pages, exports
and e-mails show "invalid amount" instead of answering 500.
"""

import logging
from decimal import Context, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.expressions import Col
from django.utils.translation import gettext

logger = logging.getLogger("ticketshop.money")

# The most a single amount typed by an organiser (a price, a cash price) may
# be: far above any ticket, far below what the columns hold.
MAX_AMOUNT = Decimal("1000000")
CENT = Decimal("0.01")
# Sums read from the database (revenue) have at most this many whole digits.
AGGREGATE_DIGITS = 15
# SQLite keeps 15 significant digits of a REAL; more are float noise.
_FLOAT = Context(prec=15)


class InvalidAmount(Decimal):
    """A stored amount that is not a number the shop could have written.

    A quiet NaN for arithmetic (sums of it are NaN, never an exception);
    shown as "invalid amount" wherever it is printed.
    """

    def __new__(cls, raw=None):
        amount = super().__new__(cls, "NaN")
        amount.raw = raw
        return amount

    def __str__(self) -> str:
        return gettext("invalid amount")

    def __format__(self, spec: str) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"InvalidAmount({self.raw!r})"

    # Django's number formatting (the admin, form inputs) compares, takes
    # abs() and reads the digits: none of that may raise on a NaN.
    def __abs__(self):
        return self

    def __neg__(self):
        return self

    def __lt__(self, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    # Arithmetic with an invalid amount stays invalid (and is shown so).
    def _invalid(self, *args, **kwargs):
        return self

    __add__ = __radd__ = __sub__ = __rsub__ = _invalid
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _invalid

    def as_tuple(self):
        return Decimal(0).as_tuple()

    def quantize(self, *args, **kwargs):
        return self

    def to_integral_value(self, *args, **kwargs):
        return self


def is_valid_amount(value) -> bool:
    return isinstance(value, Decimal) and value.is_finite()


def amount_problem(value: Decimal, *, max_digits: int = 10) -> str | None:
    """Why ``value`` cannot be an amount of money, or None (translated)."""
    if not isinstance(value, Decimal) or not value.is_finite():
        return gettext("Enter an amount in kronor, e.g. 120 or 99.50.")
    if value < 0:
        return gettext("Amounts cannot be negative.")
    if value != value.quantize(CENT, context=Context(prec=40)):
        return gettext("Amounts have at most two decimals (öre).")
    if value > MAX_AMOUNT or len(value.quantize(CENT).as_tuple().digits) > max_digits:
        return gettext("Amounts are at most %(max)s kr.") % {"max": MAX_AMOUNT}
    return None


def parse_amount(text: str, *, max_digits: int = 10) -> Decimal:
    """Read kronor typed by a person ("99,50" too); ValueError says why not."""
    cleaned = (text or "").strip().replace(",", ".").replace(" ", "")
    try:
        value = Decimal(cleaned) if len(cleaned) <= 40 else None
    except InvalidOperation:
        value = None
    problem = amount_problem(value, max_digits=max_digits)
    if problem:
        raise ValueError(problem)
    return value.quantize(CENT)


def format_amount(value, *, places: int = 2) -> str:
    """Print an amount with two decimals; an invalid one in words."""
    if not is_valid_amount(value):
        return gettext("invalid amount")
    return f"{value:.{places}f}"


def validate_amount(value) -> None:
    problem = amount_problem(value, max_digits=30)
    if problem:
        raise ValidationError(problem, code="invalid_amount")


class MoneyField(models.DecimalField):
    """A DecimalField that refuses non-finite and absurd amounts and reads
    any stored value without raising.

    Django's SQLite converter raises on a REAL out of the column's range
    (1e30) and on text ('NaN'); this field converts the raw value itself
    (its internal type is its own, so no backend converter runs first).
    Migrations see a plain DecimalField: the column is the same.
    """

    def __init__(self, *args, bounded: bool = True, **kwargs):
        self.bounded = bounded
        super().__init__(*args, **kwargs)
        if bounded:
            self.validators.append(MinValueValidator(Decimal("0.00")))
            self.validators.append(MaxValueValidator(MAX_AMOUNT))

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.DecimalField", args, kwargs

    def get_internal_type(self) -> str:
        return "MoneyField"

    def db_type(self, connection):
        return connection.data_types["DecimalField"] % self.db_type_parameters(
            connection
        )

    def cast_db_type(self, connection):
        return self.db_type(connection)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return read_amount(
            value,
            max_digits=self.max_digits if isinstance(expression, Col) else None,
            decimal_places=self.decimal_places,
            where=f"{self.model.__name__}.{self.name}"
            if hasattr(self, "model")
            else "",
        )


def read_amount(value, *, max_digits, decimal_places: int, where: str = "") -> Decimal:
    """Convert a raw database value to Decimal, or to InvalidAmount (logged)."""
    try:
        if isinstance(value, float):
            amount = _FLOAT.create_decimal_from_float(value)
        elif isinstance(value, int | Decimal):
            amount = Decimal(value)
        else:
            text = value.decode() if isinstance(value, bytes) else str(value)
            amount = Decimal(text.strip()) if len(text) <= 60 else Decimal("NaN")
        if amount.is_finite():
            if max_digits is None:
                # A sum (no column): any real one is far below 10**15 kr.
                if amount.adjusted() < AGGREGATE_DIGITS:
                    return amount
                raise InvalidOperation
            return amount.quantize(
                Decimal(1).scaleb(-decimal_places),
                context=Context(prec=max_digits, traps=[InvalidOperation]),
            )
    except (InvalidOperation, ValueError, TypeError, UnicodeDecodeError):
        pass
    logger.warning(
        "invalid amount %r stored in %s; shown as invalid", value, where or "?"
    )
    return InvalidAmount(value)
