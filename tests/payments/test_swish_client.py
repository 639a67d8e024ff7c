"""The Swish client (requests, configured from settings) against the
simulator over HTTP: every synchronous MSS error code of swish.md section 12
is refused with its code, asynchronous ones end in ERROR."""

from decimal import Decimal

import pytest

from tests.payments.conftest import wait_for
from ticketshop.payments import swish
from ticketshop.payments.services import new_swish_id
from ticketshop.payments.swish import SwishRefused, SwishUnavailable

pytestmark = pytest.mark.django_db(transaction=True)

PAYMENT_SYNC_422 = [
    "FF08", "RP03", "BE18", "RP01", "PA02", "AM06", "AM02", "AM03", "RP02",
    "RP06", "RP09", "ACMT03", "ACMT01", "ACMT07", "UNKW",
]  # fmt: skip
REFUND_SYNC_422 = [
    "FF08", "RP03", "PA02", "AM06", "RF08", "AM03", "RP01", "RP02", "ACMT07",
    "ACMT01", "RF02", "RF03", "RF04", "RF06", "RF09", "BE18", "UNKW",
]  # fmt: skip
PAYMENT_ASYNC = ["RF07", "BANKIDCL", "FF10", "TM01", "DS24", "VR01", "VR02"]


def _create(message: str, **kwargs):
    return swish.create_payment_request(
        request_id=new_swish_id(),
        amount=Decimal("100.00"),
        message=message,
        reference="ORDER1",
        callback_identifier=new_swish_id(),
        **kwargs,
    )


@pytest.mark.parametrize("code", PAYMENT_SYNC_422)
def test_payment_sync_error_codes_are_refused_with_422(swish_live, code):
    with pytest.raises(SwishRefused) as refused:
        _create(code)
    assert refused.value.status == 422
    assert refused.value.codes == [code]


@pytest.mark.parametrize("code", ["VR01", "VR02"])
def test_ecommerce_age_and_ssn_codes_are_refused_with_422(swish_live, code):
    with pytest.raises(SwishRefused) as refused:
        _create(code, payer_alias="46712345678")
    assert refused.value.status == 422
    assert refused.value.codes == [code]


def test_pa01_is_refused_with_403(swish_live):
    with pytest.raises(SwishRefused) as refused:
        _create("PA01")
    assert refused.value.status == 403
    assert refused.value.codes == ["PA01"]


@pytest.mark.parametrize("code", REFUND_SYNC_422 + ["PA01"])
def test_refund_sync_error_codes_are_refused(swish_live, code):
    with pytest.raises(SwishRefused) as refused:
        swish.create_refund(
            refund_id=new_swish_id(),
            original_payment_reference="0" * 32,
            payer_alias_of_payment="46712345678",
            amount=Decimal("10.00"),
            message=code,
            reference="ORDER1",
            callback_identifier=new_swish_id(),
        )
    assert refused.value.status == (403 if code == "PA01" else 422)
    assert refused.value.codes == [code]


@pytest.mark.parametrize("code", PAYMENT_ASYNC)
def test_async_error_codes_end_in_error_with_the_code(swish_live, code):
    request_id = new_swish_id()
    created = swish.create_payment_request(
        request_id=request_id,
        amount=Decimal("100.00"),
        message=code,
        reference="ORDER1",
        callback_identifier=new_swish_id(),
    )
    assert created.token and created.location.endswith(request_id)

    obj = wait_for(
        lambda: (o := swish.read_payment_request(request_id))["status"] == "ERROR" and o
    )
    assert obj["errorCode"] == code
    assert obj["message"] == code


def test_cancel_of_a_settled_request_is_rp07_and_unknown_id_404(swish_live):
    request_id = new_swish_id()
    _ = swish.create_payment_request(
        request_id=request_id,
        amount=Decimal("1.00"),
        message="FF10",
        reference="ORDER1",
        callback_identifier=new_swish_id(),
    )
    wait_for(lambda: swish.read_payment_request(request_id)["status"] == "ERROR")

    with pytest.raises(SwishRefused) as refused:
        swish.cancel_payment_request(request_id)
    assert refused.value.codes == ["RP07"]
    with pytest.raises(SwishRefused) as missing:
        swish.read_payment_request(new_swish_id())
    assert missing.value.status == 404


def test_unreachable_swish_is_unavailable_not_refused(
    swish_live, settings, refused_port
):
    settings.SWISH_API_URL = f"http://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    with pytest.raises(SwishUnavailable):
        _create("Biljetter")


def test_message_is_sanitised_to_swish_characters():
    assert swish.sanitise_message("Café & Bar — 50% off! (åäö)") == (
        "Cafe Bar - 50 off! (åäö)"
    )
    assert len(swish.sanitise_message("x" * 80)) == 50
