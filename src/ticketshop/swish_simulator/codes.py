"""Swish's error codes and how Swish's test server (MSS) simulates them.

A payment or refund whose ``message`` equals one of these codes fails the way
MSS makes it fail (swish.md section 12): synchronously with 422 (or 403 for
PA01), or asynchronously, ending in ERROR with the code after a delay.
"""

# Wording from the MSS user guide where it gives one.
MESSAGES = {
    "FF08": "Payment Reference is invalid",
    "RP03": "Callback URL is missing or does not use HTTPS",
    "BE18": "Payer alias is invalid",
    "RP01": "Missing Merchant Swish Number",
    "PA02": "Amount value is missing or not a valid number",
    "AM06": "Specified transaction amount is less than agreed minimum",
    "AM02": "Amount value is too large",
    "AM03": "Invalid or missing Currency",
    "RP02": "Wrong formated message",
    "RP06": "A payment request already exists for that payer",
    "RP09": "The given instructionUUID is not available",
    "RF09": "Refund with this instructionUUID already in progress",
    "ACMT03": "Payer not Enrolled",
    "ACMT01": "Counterpart is not activated",
    "ACMT07": "Payee not Enrolled",
    "UNKW": "Technical supplier is not active",
    "VR01": "Does not meet age limit",
    "VR02": "The payer alias in the request is not enrolled in swish with the "
    "supplied ssn",
    "PA01": "Parameter is not correct.",
    "RP07": "The payment request can not be cancelled.",
    "RF02": "Original Payment not found or original payment is more than 13 months old",
    "RF03": "Payer alias in the refund does not match the payee alias in the "
    "original payment",
    "RF04": "Payer organization number do not match original payment payee "
    "organization number",
    "RF06": "The Payer SSN in the original payment is not the same as the SSN "
    "for the current Payee",
    "RF08": "Amount value is too large, or amount exceeds the amount of the "
    "original payment minus any previous refunds",
    "RF07": "Transaction declined",
    "BANKIDCL": "Payer cancelled BankId signing",
    "BANKIDONGOING": "BankID already in use",
    "BANKIDUNKN": "BankID are not able to authorize the payment",
    "FF10": "Bank system processing error",
    "TM01": "Swish timed out before the payment was started",
    "DS24": "Swish timed out waiting for an answer from the banks after payment "
    "was started",
}

# Create payment request: message = code -> 422 with that code.
PAYMENT_SYNC_422 = {
    "FF08", "RP03", "BE18", "RP01", "PA02", "AM06", "AM02", "AM03", "RP02",
    "RP06", "RP09", "ACMT03", "ACMT01", "ACMT07", "UNKW",
}  # fmt: skip
# e-commerce only (payerAlias given); in m-commerce they end asynchronously.
PAYMENT_SYNC_422_ECOMMERCE = {"VR01", "VR02"}
# message = code -> 201, then ERROR with the code. BANKIDONGOING and BANKIDUNKN
# are extensions of this simulator (MSS cannot produce them).
PAYMENT_ASYNC = {"RF07", "BANKIDCL", "FF10", "TM01", "DS24", "BANKIDONGOING",
                 "BANKIDUNKN"}  # fmt: skip
PAYMENT_ASYNC_MCOMMERCE = {"VR01", "VR02"}

REFUND_SYNC_422 = {
    "FF08", "RP03", "PA02", "AM06", "RF08", "AM03", "RP01", "RP02", "ACMT07",
    "ACMT01", "RF02", "RF03", "RF04", "RF06", "RF09", "BE18", "UNKW",
}  # fmt: skip
REFUND_ASYNC = {"RF07", "BANKIDCL", "FF10", "DS24"}
# message = PA01 -> 403 for both.
SYNC_403 = {"PA01"}


def error(code: str, additional_information: str | None = None) -> dict:
    """Return one of Swish's error objects."""
    return {
        "errorCode": code,
        "errorMessage": MESSAGES.get(code, code),
        "additionalInformation": additional_information,
    }
