"""The receipts of a date range as an SIE file of type 4i (vouchers to
import into the accountant's bookkeeping program).

SIE 4 is the specification of SIE-Gruppen (sie.se): a text file in the IBM
PC 8-bit character set (CP437, ``#FORMAT PC8``), one record a line, each
starting with its label (``#VER``); strings with spaces are quoted (a
quote inside one written ``\\"``); a voucher's transactions (``#TRANS``)
stand between ``{`` and ``}`` under its ``#VER``. A type 4i file holds
vouchers only, for import: the receiving program numbers them, so the
voucher number is left empty (``""``).

The vouchers (docs/books.md, "The SIE export"):

- one voucher per day (the receipts issued that day) or per show night
  (the receipts issued in the range, grouped by the night they were for,
  dated the last day one of them was issued), the treasurer's choice;
- receipts and credit receipts never share a voucher: a day's refunds are
  a voucher of their own;
- per voucher: the money in on the clearing account of each payment method
  (Swish, cash, invoice: from the bookkeeping settings), the takings less
  VAT on the sales account of each rate, the VAT on the output VAT account
  of each rate (a credit voucher the same, with the signs turned; or its
  takings on the refunds account when the settings name one);
- the voucher text names the day or the night and the receipt numbers.

Every amount comes from the receipts' lines, so a voucher balances to the
öre: a line's amount is its part at the rate, its VAT is in it.
"""

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from ticketshop.orders.models import PaymentMethod

from .models import Organiser, Receipt, ReceiptKind
from .receipts import current_organiser

BY_DAY = "day"
BY_NIGHT = "night"
GROUPINGS = (BY_DAY, BY_NIGHT)
ZERO = Decimal("0.00")

PROGRAM = ("Ticketshop", "1.0")
# The voucher series the vouchers are written in: the receiving program
# gives each its number (a 4i file leaves it empty).
SERIES = "A"

# The account names written on #KONTO (BAS names, Swedish as the accountant
# reads them), by the role the account has in the settings.
ACCOUNT_NAMES = (
    ("account_swish", "Swish"),
    ("account_bank", "Företagskonto"),
    ("account_cash", "Kassa"),
    ("account_sales_25", "Försäljning 25 % moms"),
    ("account_sales_12", "Försäljning 12 % moms"),
    ("account_sales_6", "Försäljning 6 % moms"),
    ("account_sales_0", "Försäljning momsfri"),
    ("account_vat_25", "Utgående moms 25 %"),
    ("account_vat_12", "Utgående moms 12 %"),
    ("account_vat_6", "Utgående moms 6 %"),
    ("account_refunds", "Återbetalningar"),
)


@dataclass
class Voucher:
    """One #VER: its date, its text and its transactions (account, amount;
    debit positive, credit negative)."""

    day: date
    text: str
    kind: str
    receipts: list[str] = field(default_factory=list)
    rows: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def table(self) -> list[tuple[str, Decimal | None, Decimal | None]]:
        """(account, debit, credit) per row, as the page shows it."""
        return [
            (a, amount if amount > 0 else None, -amount if amount < 0 else None)
            for a, amount in self.rows
        ]

    @property
    def balance(self) -> Decimal:
        return sum((amount for _account, amount in self.rows), ZERO)


def clearing_account(organiser: Organiser, method: str) -> str:
    """Where the money of a payment method comes in: Swish on the Swish
    account, cash on the cash account, the rest (invoice) on the bank."""
    if method == PaymentMethod.SWISH:
        return organiser.account_swish
    if method == PaymentMethod.CASH:
        return organiser.account_cash
    return organiser.account_bank


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )


def receipts_issued(start: date, end: date):
    """The receipts and credit receipts issued from ``start`` to ``end``
    (inclusive, Swedish time), in number order, with their lines."""
    since, until = _bounds(start, end)
    return (
        Receipt.objects.filter(issued_at__gte=since, issued_at__lt=until)
        .select_related("order__event")
        .prefetch_related("lines")
        .order_by("issued_at", "year", "number")
    )


def _number_range(codes: list[str]) -> str:
    if len(codes) == 1:
        return codes[0]
    return f"{codes[0]} till {codes[-1]} ({len(codes)} st)"


def _voucher(organiser: Organiser, receipts: list[Receipt], *, day, heading) -> Voucher:
    kind = receipts[0].kind
    clearing: OrderedDict[str, Decimal] = OrderedDict()
    net: dict[int, Decimal] = {}
    vat: dict[int, Decimal] = {}
    for receipt in receipts:
        account = clearing_account(organiser, receipt.payment_method)
        clearing[account] = clearing.get(account, ZERO) + receipt.total
        for line in receipt.lines.all():
            net[line.rate] = net.get(line.rate, ZERO) + line.amount - line.vat
            vat[line.rate] = vat.get(line.rate, ZERO) + line.vat
    rows: list[tuple[str, Decimal]] = list(clearing.items())
    refunds = kind == ReceiptKind.CREDIT and organiser.account_refunds
    for rate in sorted(net, reverse=True):
        account = (
            organiser.account_refunds if refunds else organiser.sales_account(rate)
        )
        rows.append((account, -net[rate]))
    for rate in sorted(vat, reverse=True):
        if rate:
            rows.append((organiser.vat_account(rate), -vat[rate]))
    merged: OrderedDict[str, Decimal] = OrderedDict()
    for account, amount in rows:
        merged[account] = merged.get(account, ZERO) + amount
    codes = [r.code for r in sorted(receipts, key=lambda r: (r.year, r.number))]
    word = "Kreditkvitton" if kind == ReceiptKind.CREDIT else "Kvitton"
    text = f"{heading}, {word.lower() if heading else word} {_number_range(codes)}"
    return Voucher(
        day=day,
        text=text,
        kind=kind,
        receipts=codes,
        rows=[(a, amount) for a, amount in merged.items() if amount != 0],
    )


def build_vouchers(
    *,
    start: date,
    end: date,
    by: str = BY_DAY,
    organiser: Organiser | None = None,
) -> list[Voucher]:
    """The vouchers of the receipts issued from ``start`` to ``end``
    (inclusive): per day or per show night, sales and refunds apart."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {GROUPINGS}, not {by!r}")
    organiser = organiser or current_organiser()
    groups: OrderedDict[tuple, list[Receipt]] = OrderedDict()
    for receipt in receipts_issued(start, end):
        if by == BY_DAY:
            key = (timezone.localdate(receipt.issued_at),)
        else:
            key = (receipt.event_at, receipt.order.event_id)
        groups.setdefault((*key, receipt.kind), []).append(receipt)
    vouchers = []
    for key, receipts in groups.items():
        last_day = max(timezone.localdate(r.issued_at) for r in receipts)
        if by == BY_DAY:
            heading = f"Biljettförsäljning {key[0].isoformat()}"
        else:
            night = timezone.localtime(key[0])
            heading = f"{receipts[0].order.event.title} {night:%Y-%m-%d %H:%M}"
        vouchers.append(_voucher(organiser, receipts, day=last_day, heading=heading))
    # Sales before refunds within a day, days (or nights) in order.
    order = {ReceiptKind.SALE: 0, ReceiptKind.CREDIT: 1}
    vouchers.sort(key=lambda v: (v.day, order[v.kind]))
    return vouchers


def _quoted(text: str) -> str:
    """A string field: quoted, a quote inside as \\", no line breaks nor
    other control characters (a record is one line)."""
    clean = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    return '"' + clean.replace("\\", "/").replace('"', '\\"') + '"'


def _amount(value: Decimal) -> str:
    return f"{Decimal(value).quantize(Decimal('0.01')):.2f}"


def _account_names(organiser: Organiser) -> dict[str, str]:
    names: dict[str, str] = {}
    for role, name in ACCOUNT_NAMES:
        number = getattr(organiser, role)
        if number and number not in names:
            names[number] = name
    return names


def render_sie(
    vouchers: list[Voucher], *, organiser: Organiser, generated: date
) -> bytes:
    """The SIE 4i file of the vouchers, in CP437 with CR LF line ends."""
    lines = [
        "#FLAGGA 0",
        "#FORMAT PC8",
        "#SIETYP 4",
        f"#PROGRAM {_quoted(PROGRAM[0])} {_quoted(PROGRAM[1])}",
        f"#GEN {generated:%Y%m%d}",
        f"#FNAMN {_quoted(organiser.legal_name)}",
        f"#ORGNR {organiser.org_number or _quoted('')}",
    ]
    used = sorted({account for v in vouchers for account, _ in v.rows})
    names = _account_names(organiser)
    lines += [f"#KONTO {a} {_quoted(names.get(a, a))}" for a in used]
    for voucher in vouchers:
        lines.append(f'#VER {SERIES} "" {voucher.day:%Y%m%d} {_quoted(voucher.text)}')
        lines.append("{")
        lines += [f"   #TRANS {a} {{}} {_amount(amount)}" for a, amount in voucher.rows]
        lines.append("}")
    text = "".join(f"{line}\r\n" for line in lines)
    return text.encode("cp437", errors="replace")


def export_sie(
    *, start: date, end: date, by: str = BY_DAY, generated: date | None = None
) -> bytes:
    """The SIE 4i file of the receipts issued from ``start`` to ``end``."""
    organiser = current_organiser()
    vouchers = build_vouchers(start=start, end=end, by=by, organiser=organiser)
    return render_sie(
        vouchers,
        organiser=organiser,
        generated=generated or timezone.localdate(),
    )
