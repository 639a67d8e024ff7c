"""Against Swish's own test server (MSS), with its test certificates.

Skipped unless SWISH_LIVE_CERT and SWISH_LIVE_KEY name the MSS merchant test
certificate and key (PEM), e.g. the files getswish ships:

    SWISH_LIVE_CERT=.venv/lib/python3.11/site-packages/getswish/certificates/mss_test_3.0/Swish_Merchant_TestCertificate_1234679304.pem
    SWISH_LIVE_KEY=…/Swish_Merchant_TestCertificate_1234679304.key
    .venv/bin/pytest -m live tests/payments/test_mss_live.py
"""

import os
import time
from decimal import Decimal

import pytest

from ticketshop.payments import swish
from ticketshop.payments.services import new_swish_id
from ticketshop.payments.swish import SwishRefused

CERT = os.environ.get("SWISH_LIVE_CERT", "")
KEY = os.environ.get("SWISH_LIVE_KEY", "")

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (CERT and KEY), reason="SWISH_LIVE_CERT / SWISH_LIVE_KEY not set"
    ),
]


@pytest.fixture
def mss(settings):
    settings.SWISH_ENVIRONMENT = "mss"
    settings.SWISH_API_URL = ""
    settings.SWISH_CERT_PATH = CERT
    settings.SWISH_KEY_PATH = KEY
    settings.SWISH_CA_PATH = os.environ.get("SWISH_LIVE_CA", "")
    settings.SWISH_PAYEE_ALIAS = os.environ.get("SWISH_LIVE_PAYEE_ALIAS", "1234679304")
    # MSS needs an HTTPS callback URL but never needs to reach it here.
    settings.SWISH_CALLBACK_URL = "https://example.org/swish/callback/"


def _create(message: str, request_id: str):
    return swish.create_payment_request(
        request_id=request_id,
        amount=Decimal("100.00"),
        message=message,
        reference="LIVETEST1",
        callback_identifier=new_swish_id(),
    )


def test_mss_pays_an_mcommerce_request_after_about_four_seconds(mss):
    request_id = new_swish_id()
    created = _create("Biljetter", request_id)
    assert created.token

    deadline = time.monotonic() + 20
    while (obj := swish.read_payment_request(request_id))["status"] == "CREATED":
        assert time.monotonic() < deadline
        time.sleep(1)

    assert obj["status"] == "PAID"
    assert obj["paymentReference"]
    assert obj["payeePaymentReference"] == "LIVETEST1"


def test_mss_refuses_a_sync_error_trigger(mss):
    with pytest.raises(SwishRefused) as refused:
        _create("FF08", new_swish_id())
    assert refused.value.codes == ["FF08"]


def test_mss_cancels_a_fresh_request(mss):
    request_id = new_swish_id()
    _create("Biljetter", request_id)
    obj = swish.cancel_payment_request(request_id)
    assert obj["status"] == "CANCELLED"
