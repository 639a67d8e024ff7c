"""Swish's paths, status codes, headers and error bodies, plus the payer page.

Plain Django views rather than DRF: the answers must be Swish's, byte for
byte (empty bodies, JSON error lists), not the shop's contract.
"""

import json
import logging
import time
from functools import wraps

from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from . import codes, faults, services
from .models import SimulatedPaymentRequest, SimulatedRefund
from .services import ID_RE, SwishRefusal

logger = logging.getLogger(__name__)

JSON_TYPE = "application/json;charset=UTF-8"


def simulator_only(view):
    """Answer 404 unless the shop runs against the simulator, decided at each
    request (the URLs are always mounted: deciding when urls.py was first
    imported froze whatever a test or a settings change had set then)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        if settings.SWISH_ENVIRONMENT != "simulator":
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


def _json(data, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(data), status=status, content_type=JSON_TYPE)


def _refusal(exc: SwishRefusal) -> HttpResponse:
    if exc.errors is None:
        return HttpResponse(status=exc.status)
    return _json(exc.errors, status=exc.status)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _body(request):
    """The JSON body, or None (as Swish answers a body it cannot read: 400)."""
    try:
        return json.loads(request.body, parse_constant=_no_constant)
    except RecursionError:
        logger.warning("simulator: body nested too deeply on %s", request.path)
        return None
    except (ValueError, UnicodeDecodeError):
        return None


def _location(request, name: str, object_id: str) -> str:
    return request.build_absolute_uri(
        reverse(f"swish_simulator:{name}", args=[object_id])
    )


@simulator_only
@csrf_exempt
@require_http_methods(["PUT"])
def create_payment_request(request, request_id: str):
    """PUT /api/v2/paymentrequests/<id>: 201 with Location and the token."""
    if failed := faults.apply(request, "create_payment"):
        return failed
    if not ID_RE.match(request_id):
        return HttpResponse(status=400)
    if request.content_type != "application/json":
        return HttpResponse(status=415)
    body = _body(request)
    if body is None:
        return HttpResponse(status=400)
    failure = settings.SWISH_SIMULATOR_FAIL_CREATE
    if failure == "500":
        logger.info("simulator switch: create %s answers 500", request_id)
        return HttpResponse(status=500)
    if failure == "timeout":
        time.sleep(settings.SWISH_SIMULATOR_HANG_SECONDS)
        return HttpResponse(status=504)
    try:
        payment = services.create_payment_request(request_id=request_id, body=body)
    except SwishRefusal as exc:
        return _refusal(exc)
    if failure == "timeout-after-create":
        time.sleep(settings.SWISH_SIMULATOR_HANG_SECONDS)
    response = HttpResponse(status=201)
    response["Location"] = _location(request, "payment_request", payment.pk)
    if payment.token:
        response["PaymentRequestToken"] = payment.token
    return response


@simulator_only
@csrf_exempt
@require_http_methods(["GET", "PATCH"])
def payment_request(request, request_id: str):
    """GET or cancel (PATCH) /api/v1/paymentrequests/<id>."""
    operation = "cancel_payment" if request.method == "PATCH" else "read_payment"
    if failed := faults.apply(request, operation):
        return failed
    if request.method == "PATCH":
        if request.content_type != "application/json-patch+json":
            return HttpResponse(status=415)
        try:
            payment = services.cancel_payment_request(
                request_id=request_id, body=_body(request)
            )
        except SwishRefusal as exc:
            return _refusal(exc)
        return _json(payment.to_swish())
    payment = services.advance_payment(request_id=request_id)
    if payment is None:
        return HttpResponse(status=404)
    return _json(payment.to_swish())


@simulator_only
@csrf_exempt
@require_http_methods(["PUT"])
def create_refund(request, refund_id: str):
    """PUT /api/v2/refunds/<id>: 201 with Location."""
    if failed := faults.apply(request, "create_refund"):
        return failed
    if not ID_RE.match(refund_id):
        return HttpResponse(status=400)
    if request.content_type != "application/json":
        return HttpResponse(status=415)
    body = _body(request)
    if body is None:
        return HttpResponse(status=400)
    failure = settings.SWISH_SIMULATOR_FAIL_REFUND
    if failure == "500":
        logger.info("simulator switch: refund %s answers 500", refund_id)
        return HttpResponse(status=500)
    if failure == "timeout":
        time.sleep(settings.SWISH_SIMULATOR_HANG_SECONDS)
        return HttpResponse(status=504)
    try:
        refund = services.create_refund(
            refund_id=refund_id,
            body=body,
            fail_with=failure if failure in codes.REFUND_ASYNC else "",
        )
    except SwishRefusal as exc:
        return _refusal(exc)
    if failure == "timeout-after-create":
        time.sleep(settings.SWISH_SIMULATOR_HANG_SECONDS)
    response = HttpResponse(status=201)
    response["Location"] = _location(request, "refund", refund.pk)
    return response


@simulator_only
@require_http_methods(["GET"])
def refund(request, refund_id: str):
    """GET /api/v1/refunds/<id>."""
    if failed := faults.apply(request, "read_refund"):
        return failed
    found = services.advance_refund(refund_id=refund_id)
    if found is None:
        return HttpResponse(status=404)
    return _json(found.to_swish())


@simulator_only
@csrf_exempt
@require_http_methods(["GET", "POST"])
def pay(request, token: str):
    """The payer's side: the amount and message, Approve or Decline.

    Not CSRF-protected: it stands in for the Swish app and moves no money.
    """
    payment = SimulatedPaymentRequest.objects.filter(token=token).first()
    if payment is None:
        raise Http404("no such payment request")
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("approve", "decline"):
            return HttpResponse("action must be approve or decline", status=400)
        services.pay(token=token, approve=action == "approve")
        return redirect(request.path, permanent=False)
    payment = services.advance_payment(request_id=payment.pk)
    return render(request, "swish_simulator/pay.html", {"payment": payment})


@simulator_only
@require_http_methods(["GET"])
def index(request):
    """Recent simulated payment requests and refunds, and the switches."""
    return render(
        request,
        "swish_simulator/index.html",
        {
            "payments": SimulatedPaymentRequest.objects.all()[:50],
            "refunds": SimulatedRefund.objects.all()[:20],
            "switches": {
                name: getattr(settings, name)
                for name in dir(settings)
                if name.startswith("SWISH_SIMULATOR_")
            },
        },
    )


@simulator_only
@csrf_exempt
@require_http_methods(["GET", "PUT", "DELETE"])
def fault_control(request):
    """The simulator's faults and call counts (faults.py), as JSON.

    GET: each operation's fault in force and its calls. PUT a JSON object
    ``{"operations": [...] or "all", "delay_seconds", "error_rate",
    "drop_rate", "seconds", "reset_calls"}`` (all optional) to set them;
    DELETE clears every fault. Not part of Swish: the simulator's own.
    """
    if request.method == "DELETE":
        faults.clear()
        return _json(faults.state())
    if request.method == "PUT":
        body = _body(request)
        if not isinstance(body, dict):
            return _json({"error": "a JSON object is expected"}, status=400)
        operations = body.get("operations", "all")
        if operations == "all":
            operations = list(faults.OPERATIONS)
        if not isinstance(operations, list) or not all(
            isinstance(o, str) for o in operations
        ):
            return _json({"error": 'operations: a list of names or "all"'}, status=400)
        try:
            faults.set_faults(
                operations,
                delay_seconds=body.get("delay_seconds", 0.0),
                error_rate=body.get("error_rate", 0.0),
                drop_rate=body.get("drop_rate", 0.0),
                seconds=body.get("seconds"),
            )
        except faults.FaultError as exc:
            return _json({"error": str(exc)}, status=400)
        if body.get("reset_calls") is True:
            faults.reset_calls()
    return _json(faults.state())
