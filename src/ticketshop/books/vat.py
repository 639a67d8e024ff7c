"""VAT in öre, on prices that include it.

The rule (docs/books.md): the VAT of a receipt line is
``round_half_up(amount × rate / (100 + rate))`` to the öre, where
``amount`` is the line's VAT-included amount at that one rate (the unit
price's part at the rate times the count); a receipt's VAT per rate is the
sum of its lines at that rate, never recomputed from the total.
"""

from decimal import ROUND_HALF_UP, Decimal

RATES = (0, 6, 12, 25)
ORE = Decimal("0.01")


def vat_included(amount: Decimal, *, rate: int) -> Decimal:
    """The VAT contained in ``amount`` (VAT included), rounded half up to the öre."""
    if rate not in RATES:
        raise ValueError(f"not a Swedish VAT rate: {rate}")
    return (Decimal(amount) * rate / (Decimal(100) + rate)).quantize(ORE, ROUND_HALF_UP)


def split_price(
    price: Decimal, *, rate: int, part_rate: int | None, part_amount: Decimal | None
) -> list[tuple[int, Decimal]]:
    """The parts of a VAT-included ``price`` per rate: ``part_amount`` of it
    at ``part_rate`` (dinner at 12 %), the rest at ``rate`` (the show at
    6 %). A part larger than the price is capped at the price (a ticket
    sold cheaper than its type). Parts of 0 kr are left out, but a price of
    0 kr keeps one part."""
    price = Decimal(price)
    if part_rate is None or not part_amount or part_rate == rate:
        return [(rate, price)]
    part = min(Decimal(part_amount), price)
    parts = [(part_rate, part), (rate, price - part)]
    return [(r, a) for r, a in parts if a != 0] or [(rate, price)]
