"""The organiser's books: its settings, its receipt series, receipts and
invoice requests.

Money is signed on receipts: a sale's lines are positive, a credit
receipt's lines negative, so that the sum of every receipt of an order (or
a day) is what the shop kept. A receipt is a copy of what was sold, as it
was sold (seller, event, rates): later changes to the settings or the
ticket types never change an issued receipt.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ticketshop.orders.models import Order, PaymentMethod


class VatStatus(models.TextChoices):
    NOT_LIABLE = "NOT_LIABLE", _("not liable for VAT (no VAT charged)")
    EXEMPT = "EXEMPT", _("exempt: turnover under the VAT threshold")
    REGISTERED = "REGISTERED", _("registered for VAT")


# BAS accounts (docs/books.md cites the chart): the bank account Swish pays
# into, sales per VAT rate and output VAT per rate.
DEFAULT_ACCOUNTS = {
    "account_bank": "1930",
    "account_swish": "1930",
    "account_cash": "1910",
    "account_sales_25": "3001",
    "account_sales_12": "3002",
    "account_sales_6": "3003",
    "account_sales_0": "3004",
    "account_vat_25": "2611",
    "account_vat_12": "2621",
    "account_vat_6": "2631",
    "account_refunds": "",
}


def _account(label, name):
    return models.CharField(
        label,
        max_length=4,
        default=DEFAULT_ACCOUNTS[name],
        blank=name == "account_refunds",
    )


class Organiser(models.Model):
    """The seller's bookkeeping settings: one row per installation today,
    keyed (``key``) so that several organisers can come later."""

    key = models.SlugField(_("key"), max_length=40, unique=True, default="default")
    legal_name = models.CharField(_("legal name"), max_length=200)
    org_number = models.CharField(_("organisation number"), max_length=11, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    vat_status = models.CharField(
        _("VAT status"),
        max_length=16,
        choices=VatStatus.choices,
        default=VatStatus.NOT_LIABLE,
    )
    vat_number = models.CharField(
        _("VAT registration number"), max_length=14, blank=True
    )
    receipt_prefix = models.CharField(
        _("receipt number prefix"), max_length=8, blank=True, default="K"
    )
    account_bank = _account(_("bank account"), "account_bank")
    account_swish = _account(_("Swish clearing account"), "account_swish")
    account_cash = _account(_("cash account"), "account_cash")
    account_sales_25 = _account(_("sales at 25 % VAT"), "account_sales_25")
    account_sales_12 = _account(_("sales at 12 % VAT"), "account_sales_12")
    account_sales_6 = _account(_("sales at 6 % VAT"), "account_sales_6")
    account_sales_0 = _account(_("sales without VAT"), "account_sales_0")
    account_vat_25 = _account(_("output VAT 25 %"), "account_vat_25")
    account_vat_12 = _account(_("output VAT 12 %"), "account_vat_12")
    account_vat_6 = _account(_("output VAT 6 %"), "account_vat_6")
    account_refunds = _account(
        _("refunds (blank: booked back on the sales accounts)"), "account_refunds"
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.CharField(_("confirmed by"), max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("bookkeeping settings")
        verbose_name_plural = _("bookkeeping settings")

    def __str__(self) -> str:
        return self.legal_name

    @property
    def charges_vat(self) -> bool:
        return self.vat_status == VatStatus.REGISTERED

    def sales_account(self, rate: int) -> str:
        return getattr(self, f"account_sales_{rate}")

    def vat_account(self, rate: int) -> str:
        return getattr(self, f"account_vat_{rate}") if rate else ""


class ReceiptSeries(models.Model):
    """The last receipt number of an organiser's year: the counter row that
    ``receipts.next_number`` locks, so that numbers never repeat nor skip."""

    organiser = models.ForeignKey(Organiser, on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organiser", "year"], name="books_one_series_per_year"
            )
        ]

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class ReceiptKind(models.TextChoices):
    SALE = "SALE", _("receipt")
    CREDIT = "CREDIT", _("credit receipt")


class Receipt(models.Model):
    organiser = models.ForeignKey(Organiser, on_delete=models.PROTECT)
    kind = models.CharField(max_length=8, choices=ReceiptKind.choices)
    year = models.PositiveSmallIntegerField()
    number = models.PositiveIntegerField()
    code = models.CharField(_("receipt number"), max_length=32)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="receipts")
    # A credit receipt names the receipt it reverses.
    original = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credits"
    )
    issued_at = models.DateTimeField(_("issued at"))
    language = models.CharField(max_length=8, choices=settings.LANGUAGES)
    # The seller and the sale as they were (a receipt never changes).
    seller_name = models.CharField(max_length=200)
    seller_org_number = models.CharField(max_length=11, blank=True)
    seller_address = models.CharField(max_length=300, blank=True)
    seller_vat_number = models.CharField(max_length=14, blank=True)
    vat_status = models.CharField(max_length=16, choices=VatStatus.choices)
    event_title = models.CharField(max_length=200)
    event_at = models.DateTimeField()
    payment_method = models.CharField(max_length=16)
    payment_reference = models.CharField(max_length=64, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    vat_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["year", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organiser", "year", "number"],
                name="books_receipt_number_unique",
            )
        ]
        indexes = [models.Index(fields=["issued_at"])]

    def __str__(self) -> str:
        return self.code

    @property
    def vat_charged(self) -> bool:
        return self.vat_status == VatStatus.REGISTERED

    def get_payment_method_label(self) -> str:
        return str(PaymentMethod(self.payment_method).label)

    def vat_per_rate(self) -> dict[int, tuple[Decimal, Decimal]]:
        """{rate: (amount, VAT)}: the sums of the receipt's lines per rate."""
        found: dict[int, tuple[Decimal, Decimal]] = {}
        for line in self.lines.all():
            amount, vat = found.get(line.rate, (Decimal("0"), Decimal("0")))
            found[line.rate] = (amount + line.amount, vat + line.vat)
        return dict(sorted(found.items(), reverse=True))


class ReceiptLine(models.Model):
    """What was sold at one rate: a ticket type at one price, its part at
    ``rate`` (the whole price, or one part of a split price), ``count``
    times. ``amount`` (VAT included) and ``vat`` are signed."""

    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="lines")
    ticket_type_id = models.IntegerField(null=True)
    description = models.CharField(max_length=300)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    part_of_price = models.DecimalField(max_digits=10, decimal_places=2)
    rate = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    vat = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.count} × {self.description} ({self.rate} %)"


class InvoiceStatus(models.TextChoices):
    REQUESTED = "REQUESTED", _("requested")
    SENT = "SENT", _("invoice sent")
    DECLINED = "DECLINED", _("declined")


class InvoiceRequest(models.Model):
    """A buyer's request for a full invoice of a paid order (a company, a
    sponsor); the treasurer sends it and marks it sent, or declines it."""

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="invoice_requests"
    )
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=InvoiceStatus.choices,
        default=InvoiceStatus.REQUESTED,
    )
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), max_length=500)
    org_number = models.CharField(_("organisation number"), max_length=11, blank=True)
    reference = models.CharField(_("your reference"), max_length=200, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("invoice request")
        verbose_name_plural = _("invoice requests")
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"{self.order.reference}: {self.name}"
