from datetime import UTC, datetime

from django.db import models


def swish_time(value: datetime | None) -> str | None:
    """Format a time the way Swish does: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    return (
        value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class PaymentRequestStatus(models.TextChoices):
    CREATED = "CREATED"
    PAID = "PAID"
    DECLINED = "DECLINED"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


class RefundStatus(models.TextChoices):
    CREATED = "CREATED"
    VALIDATED = "VALIDATED"
    DEBITED = "DEBITED"
    PAID = "PAID"
    ERROR = "ERROR"


class SimulatedPaymentRequest(models.Model):
    """A payment request as Swish keeps it, plus what the simulator will do."""

    id = models.CharField(primary_key=True, max_length=32)
    token = models.CharField(max_length=32, unique=True, null=True, blank=True)
    payee_payment_reference = models.CharField(max_length=35, blank=True)
    payment_reference = models.CharField(max_length=32, blank=True)
    callback_url = models.CharField(max_length=2000)
    callback_identifier = models.CharField(max_length=64, blank=True)
    payer_alias = models.CharField(max_length=15, blank=True)
    payee_alias = models.CharField(max_length=15)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="SEK")
    message = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        max_length=16,
        choices=PaymentRequestStatus.choices,
        default=PaymentRequestStatus.CREATED,
    )
    date_created = models.DateTimeField()
    date_paid = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=16, blank=True)
    error_message = models.CharField(max_length=200, blank=True)
    # The outcome the request reaches by itself (autopay, an MSS error trigger
    # or the timeout) and when.
    due_at = models.DateTimeField(null=True, blank=True)
    due_outcome = models.CharField(max_length=16, blank=True)
    callbacks_sent = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-date_created"]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    def to_swish(self) -> dict:
        """Return the payment request object as Swish's GET and callback send it."""
        return {
            "id": self.id,
            "payeePaymentReference": self.payee_payment_reference or None,
            "paymentReference": self.payment_reference or None,
            "callbackUrl": self.callback_url,
            "callbackIdentifier": self.callback_identifier or None,
            "payerAlias": self.payer_alias or None,
            "payeeAlias": self.payee_alias,
            "amount": float(self.amount),
            "currency": self.currency,
            "message": self.message,
            "status": self.status,
            "dateCreated": swish_time(self.date_created),
            "datePaid": swish_time(self.date_paid),
            "errorCode": self.error_code or None,
            "errorMessage": self.error_message or None,
        }


class SimulatedRefund(models.Model):
    """A refund as Swish keeps it: CREATED -> VALIDATED -> DEBITED -> PAID,
    or ERROR."""

    id = models.CharField(primary_key=True, max_length=32)
    payment_reference = models.CharField(max_length=32, blank=True)
    payer_payment_reference = models.CharField(max_length=35, blank=True)
    original_payment_reference = models.CharField(max_length=64)
    callback_url = models.CharField(max_length=2000)
    callback_identifier = models.CharField(max_length=64, blank=True)
    payer_alias = models.CharField(max_length=15)
    payee_alias = models.CharField(max_length=15, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="SEK")
    message = models.CharField(max_length=50, blank=True)
    status = models.CharField(
        max_length=16, choices=RefundStatus.choices, default=RefundStatus.CREATED
    )
    date_created = models.DateTimeField()
    date_paid = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=16, blank=True)
    error_message = models.CharField(max_length=200, blank=True)
    additional_information = models.CharField(max_length=200, blank=True)
    # The next step the refund takes by itself, and when.
    due_at = models.DateTimeField(null=True, blank=True)
    due_outcome = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-date_created"]

    def __str__(self) -> str:
        return f"{self.id} {self.status}"

    def to_swish(self) -> dict:
        """Return the refund object as Swish's GET and callback send it."""
        return {
            "id": self.id,
            "paymentReference": self.payment_reference or None,
            "payerPaymentReference": self.payer_payment_reference or None,
            "originalPaymentReference": self.original_payment_reference,
            "callbackUrl": self.callback_url,
            "callbackIdentifier": self.callback_identifier or None,
            "payerAlias": self.payer_alias,
            "payeeAlias": self.payee_alias or None,
            "amount": float(self.amount),
            "currency": self.currency,
            "message": self.message,
            "status": self.status,
            "dateCreated": swish_time(self.date_created),
            "datePaid": swish_time(self.date_paid),
            "errorCode": self.error_code or None,
            "errorMessage": self.error_message or None,
            "additionalInformation": self.additional_information or None,
        }


class SimulatedOperation(models.TextChoices):
    """The calls a fault can slow down or fail (faults.py)."""

    CREATE_PAYMENT = "create_payment"
    READ_PAYMENT = "read_payment"
    CANCEL_PAYMENT = "cancel_payment"
    CREATE_REFUND = "create_refund"
    READ_REFUND = "read_refund"
    CALLBACK = "callback"


class SimulatedFault(models.Model):
    """How the simulator answers one operation, set at run time (a row, so
    every process serving the simulator sees it), and how often it was called.

    Not a record with states: a setting and a counter.
    """

    operation = models.CharField(
        primary_key=True, max_length=20, choices=SimulatedOperation.choices
    )
    delay_seconds = models.FloatField(default=0.0)
    # Shares of calls answered 503 and of calls whose connection is dropped.
    error_rate = models.FloatField(default=0.0)
    drop_rate = models.FloatField(default=0.0)
    # The fault lapses then (NULL: until cleared).
    until = models.DateTimeField(null=True, blank=True)
    # Calls received, with or without a fault (reads per paid order in bench).
    calls = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.operation
