"""The queue over HTTP: the JSON API (join, status, leave, the published
draw) and the buyer's pages (the queue page, the e-mailed links, the draw).

The status answer reads the entry and its release in one query and writes
nothing: no session change, no rate-limit counter (tests/release counts).
"""

import math
import secrets

from django.conf import settings
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ticketshop.api import (
    IdField,
    InvalidRequestData,
    StrictCharField,
    StrictIntegerField,
    format_time,
    parse_body,
    parse_id,
)
from ticketshop.api_errors import (
    BODY_ERRORS,
    CROSS_SITE_REQUEST,
    SERVER_ERROR,
    error_schema,
)
from ticketshop.orders.views import request_language, supported_language
from ticketshop.security.clients import arrived_at
from ticketshop.security.ratelimit import limit_client
from ticketshop.shop.views import shop_context
from ticketshop.statemachine.actors import ActingAs

from . import services
from .errors import AlreadyInQueue, NoQueue, NotInQueue, QueueNotOpen
from .models import Entry, Release
from .selectors import in_published_draw, status

STATUS_MAX_AGE = 2


def session_token(session, *, create: bool = False) -> str | None:
    token = session.get(services.SESSION_QUEUE_KEY)
    if token is None and create:
        token = secrets.token_urlsafe(24)
        session[services.SESSION_QUEUE_KEY] = token
    return token


def _status_body(entry: Entry) -> dict:
    body = status(entry)
    for key in ("admission_expires_at", "window_closes_at"):
        body[key] = format_time(body[key])
    return body


STATUS_SCHEMA = {
    "type": "object",
    "properties": {
        "chapter_event": {"type": "integer"},
        "public_id": {"type": "string"},
        "state": {
            "type": "string",
            "enum": [
                "waiting",
                "admitted",
                "reserved",
                "paid",
                "lapsed",
                "passed",
                "left",
                "sold_out_waiting",
            ],
        },
        "place": {"type": ["integer", "null"]},
        "people_ahead": {"type": ["integer", "null"]},
        "estimated_wait_seconds": {"type": ["integer", "null"]},
        "tickets_wanted": {"type": "integer"},
        "email_confirmed": {"type": "boolean"},
        "may_reserve": {"type": "boolean"},
        "admission_expires_at": {"type": ["string", "null"]},
        "drawn": {"type": "boolean"},
        "window_closes_at": {"type": ["string", "null"]},
        "paused": {"type": "boolean"},
        "poll_after_seconds": {"type": "integer"},
    },
}


class JoinQueueView(ActingAs, APIView):
    """Join an event's queue (random window): one entry per session and address."""

    actor = "buyer"

    class JoinQueueInput(serializers.Serializer):
        chapter_event = IdField()
        email = serializers.EmailField(max_length=254)
        tickets = StrictIntegerField(min_value=1)
        swish_number = StrictCharField(required=False, allow_blank=True, max_length=20)

    @extend_schema(
        operation_id="join_queue",
        request=JoinQueueInput,
        responses={
            201: OpenApiResponse(
                STATUS_SCHEMA,
                description="joined; the entry's status (Set-Cookie: sessionid)",
            ),
            **BODY_ERRORS,
            400: error_schema(
                "body malformed, or the release binds entries to a Swish number"
                " and none (or not a Swedish mobile number) was given",
                "InvalidRequestData",
                "SwishNumberRequired",
            ),
            403: error_schema(
                "the queue has not opened, more tickets than the event allows,"
                " or a cross-site request",
                "QueueNotOpen",
                "TooManyTickets",
                CROSS_SITE_REQUEST,
            ),
            404: error_schema(
                "no such event (or its sales stopped), or the event has no queue",
                "EventDoesNotExist",
                "NoQueue",
            ),
            409: error_schema(
                "this browser session or e-mail address is in the queue already",
                "AlreadyInQueue",
            ),
            429: error_schema(
                "more joins than RELEASE_JOIN_RATE_LIMIT allows", "TooManyAttempts"
            ),
            500: error_schema("server error (logged)", SERVER_ERROR),
        },
    )
    def post(self, request):
        limit_client(request, scope="queue-join", rate=settings.RELEASE_JOIN_RATE_LIMIT)
        body = parse_body(self.JoinQueueInput, request)
        entry = services.join(
            event_id=body["chapter_event"],
            session_token=session_token(request.session, create=True),
            email=body["email"],
            tickets_wanted=body["tickets"],
            language=supported_language(request_language(request)) or "sv",
            swish_number=body.get("swish_number", ""),
            arrived_at=arrived_at(request, now=timezone.now()),
        )
        # entry.release is the release as the join read it, moments ago.
        return Response(_status_body(entry), status=201)


def _event_param(request) -> int:
    event_id = parse_id(request.GET.get("chapter_event"))
    if event_id is None:
        raise InvalidRequestData()
    return event_id


EVENT_PARAM = OpenApiParameter(
    "chapter_event",
    int,
    OpenApiParameter.QUERY,
    required=True,
    description="the event's id",
)


class QueueStatusView(APIView):
    """The session's place: no database write (but one, the first time an
    admitted buyer is told of the turn), cacheable by the browser."""

    @extend_schema(
        operation_id="queue_status",
        parameters=[EVENT_PARAM],
        responses={
            200: OpenApiResponse(STATUS_SCHEMA, description="the entry's status"),
            400: error_schema(
                "chapter_event missing or not an id", "InvalidRequestData"
            ),
            404: error_schema(
                "this session has no entry in the event's queue", "NotInQueue"
            ),
            500: error_schema("server error (logged)", SERVER_ERROR),
        },
    )
    def get(self, request):
        event_id = _event_param(request)
        entry = services.entry_of(event_id, session_token(request.session))
        if entry is None:
            raise NotInQueue()
        entry = services.told(entry)
        response = Response(_status_body(entry))
        response["Cache-Control"] = f"private, max-age={STATUS_MAX_AGE}"
        return response


class LeaveQueueView(ActingAs, APIView):
    """Give up the session's place in the queue or on the waiting list."""

    actor = "buyer"

    class LeaveQueueInput(serializers.Serializer):
        chapter_event = IdField()

    @extend_schema(
        operation_id="leave_queue",
        request=LeaveQueueInput,
        responses={
            200: OpenApiResponse(STATUS_SCHEMA, description="left; the entry's status"),
            **BODY_ERRORS,
            403: error_schema("a cross-site request", CROSS_SITE_REQUEST),
            404: error_schema(
                "this session has no entry it could leave (none, or it is"
                " reserved, paid or over)",
                "NotInQueue",
            ),
            500: error_schema("server error (logged)", SERVER_ERROR),
        },
    )
    def post(self, request):
        body = parse_body(self.LeaveQueueInput, request)
        entry = services.leave(
            event_id=body["chapter_event"], session_token=session_token(request.session)
        )
        return Response(_status_body(entry))


class PublishedDrawView(APIView):
    """The draw's commitment; after the draw its seed and the ranked ids."""

    @extend_schema(
        operation_id="queue_draw",
        parameters=[EVENT_PARAM],
        responses={
            200: OpenApiResponse(
                {
                    "type": "object",
                    "properties": {
                        "chapter_event": {"type": "integer"},
                        "seed_commitment": {"type": "string"},
                        "window_closes_at": {"type": ["string", "null"]},
                        "drawn_at": {"type": ["string", "null"]},
                        "seed": {"type": ["string", "null"]},
                        "entries": {"type": "array", "items": {"type": "string"}},
                    },
                },
                description="seed and entries are null and [] until the draw",
            ),
            400: error_schema(
                "chapter_event missing or not an id", "InvalidRequestData"
            ),
            404: error_schema("the event has no queue", "NoQueue"),
            500: error_schema("server error (logged)", SERVER_ERROR),
        },
    )
    def get(self, request):
        release = services.queued_release(_event_param(request))
        if release is None:
            raise NoQueue()
        body = services.published_draw(release)
        for key in ("window_closes_at", "drawn_at"):
            body[key] = format_time(body[key])
        response = Response(body)
        response["Cache-Control"] = "public, max-age=30"
        return response


# --- pages -----------------------------------------------------------------------
def _page(request, template: str, context: dict, page: str = "queue"):
    return render(request, template, {**shop_context(page, request), **context})


class QueuePageView(ActingAs, View):
    """The queue page: a form to join, then the place, refreshed without
    JavaScript (a meta refresh at a random interval) and announced politely
    to screen readers."""

    actor = "buyer"

    def _release(self, event_id: int) -> Release:
        release = services.release_of(event_id)
        if release is None or not release.queued:
            raise Http404()
        return release

    def get(self, request, event_id: int, error: str = "", status_code: int = 200):
        release = self._release(event_id)
        entry = services.entry_of(event_id, session_token(request.session))
        now = timezone.now()
        if entry is not None:
            entry = services.told(entry, now=now)
        current = status(entry, now=now) if entry is not None else None
        wait = current and current["estimated_wait_seconds"]
        context = {
            "wait_minutes": None if wait is None else max(1, math.ceil(wait / 60)),
            "release": release,
            "event": release.event,
            "event_title": release.event.title_in(request.LANGUAGE_CODE),
            "entry": entry,
            "in_draw": entry is not None and in_published_draw(entry, release),
            "status": current,
            "open": release.queue_opens_at is not None
            and release.queue_opens_at <= now,
            "error": error,
            # The no-JavaScript meta refresh waits as the status answer says.
            "refresh": current["poll_after_seconds"] if current else None,
            "max_tickets": range(1, release.event.max_tickets_per_payment + 1),
        }
        response = _page(request, "release/queue.html", context)
        response.status_code = status_code
        if entry is not None:
            response["Cache-Control"] = "private, no-cache"
        return response

    def post(self, request, event_id: int):
        release = self._release(event_id)
        if request.POST.get("action") == "leave":
            try:
                services.leave(
                    event_id=event_id, session_token=session_token(request.session)
                )
            except NotInQueue:
                pass
            return HttpResponseRedirect(reverse("release:queue", args=[event_id]))
        try:
            limit_client(
                request, scope="queue-join", rate=settings.RELEASE_JOIN_RATE_LIMIT
            )
            tickets = int(request.POST.get("tickets", "1"))
            email = request.POST.get("email", "").strip()
            serializers.EmailField().run_validation(email)
            services.join(
                event_id=release.event_id,
                session_token=session_token(request.session, create=True),
                email=email,
                tickets_wanted=tickets,
                language=supported_language(request_language(request)) or "sv",
                swish_number=request.POST.get("swish_number", ""),
                arrived_at=arrived_at(request, now=timezone.now()),
            )
        except (ValueError, serializers.ValidationError):
            return self.get(
                request,
                event_id,
                _("Give a valid e-mail address and number of tickets."),
                400,
            )
        except AlreadyInQueue:
            return self.get(
                request,
                event_id,
                _(
                    "This browser or this e-mail address is in the queue"
                    " already: one entry per person."
                ),
                409,
            )
        except QueueNotOpen:
            return self.get(request, event_id, _("The queue has not opened yet."), 403)
        except services.SwishNumberRequired:
            return self.get(
                request,
                event_id,
                _("Give the Swedish mobile number you pay with in Swish."),
                400,
            )
        except services.TooManyTickets:
            return self.get(
                request,
                event_id,
                _("That is more tickets than one order may have."),
                403,
            )
        except services.EventDoesNotExist:
            raise Http404() from None
        return HttpResponseRedirect(reverse("release:queue", args=[event_id]))


class ConfirmView(ActingAs, View):
    """The e-mailed confirmation link."""

    actor = "buyer"

    def get(self, request, token: str):
        entry = services.confirm(token=token)
        if entry is None:
            raise Http404()
        return _page(request, "release/confirmed.html", {"entry": entry})


class AdmittedLinkView(ActingAs, View):
    """A ballot's e-mailed admission: this browser may reserve for the entry."""

    actor = "buyer"

    def get(self, request, token: str):
        entry = services.confirm(token=token)
        if entry is None:
            raise Http404()
        services.bind_session(
            token=token, session_token=session_token(request.session, create=True)
        )
        return HttpResponseRedirect(
            reverse("release:queue", args=[entry.release.event_id])
        )


class DrawPageView(View):
    """The published draw as a page: the commitment, then the seed and ids."""

    def get(self, request, event_id: int):
        release = get_object_or_404(
            Release.objects.select_related("event"), event_id=event_id
        )
        if not release.queued:
            raise Http404()
        draw = services.published_draw(release)
        return _page(
            request,
            "release/draw.html",
            {
                "release": release,
                "draw": draw,
                "json_url": reverse("release:api_draw") + f"?chapter_event={event_id}",
            },
        )


class HowItWorksView(View):
    def get(self, request):
        return _page(request, "release/how.html", {})
