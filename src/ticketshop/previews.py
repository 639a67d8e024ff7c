"""Previews that a confirmation commits exactly (a neutral module: the back
office and the orders admin both use it).

A confirmation page shows what an action will do and carries a snapshot of
that preview, signed with Django's ``signing`` (a salt per action, a short
life). The "Yes" button submits the snapshot together with the form as it
is now; the server acts on the snapshot's content, and only if the form
still says the same thing. So a box unticked, a night chosen or a text
corrected after the preview never slips past it: the page asks for a new
preview instead.
"""

from typing import Any

from django.core import signing
from django.utils.translation import gettext as _

SALT = "ticketshop.preview."
# Long enough to read a preview and press "Yes"; short enough that an old tab
# left open is not confirmed the next day.
MAX_AGE_SECONDS = 15 * 60


class PreviewRefused(Exception):
    """The confirmation does not match a valid preview."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "expired", "invalid" or "changed"


def sign_preview(*, action: str, user_id: int, content: dict[str, Any]) -> str:
    """Return the signed snapshot of a preview shown to ``user_id``."""
    return signing.dumps(
        {"user": user_id, "content": content}, salt=SALT + action, compress=True
    )


def read_preview(
    *, action: str, user_id: int, token: str, form: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return the content of a snapshot this user was shown for ``action``.

    Raise ``PreviewRefused`` when the snapshot is missing, forged, too old,
    another user's, or when ``form`` (the form as submitted with "Yes")
    differs from the snapshot's ``form`` entry.
    """
    try:
        data = signing.loads(token or "", salt=SALT + action, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise PreviewRefused("expired") from None
    except signing.BadSignature:
        raise PreviewRefused("invalid") from None
    if not isinstance(data, dict) or data.get("user") != user_id:
        raise PreviewRefused("invalid")
    content = data.get("content")
    if not isinstance(content, dict):
        raise PreviewRefused("invalid")
    if form is not None and content.get("form") != form:
        raise PreviewRefused("changed")
    return content


def confirm_preview(
    request, *, action: str, preview: dict[str, Any], changed: str = "stale"
) -> dict[str, Any]:
    """Return the snapshot the "Yes" button of ``request`` submitted, once it
    is this user's, fresh, for the form as submitted, and equal to ``preview``
    (what the page would show now); else raise ``PreviewRefused`` (``changed``
    names the reason when only the world moved since the preview)."""
    shown = read_preview(
        action=action,
        user_id=request.user.pk,
        token=request.POST.get("snapshot", ""),
        form=preview["form"],
    )
    if shown != preview:
        raise PreviewRefused(changed)
    return shown


def refusal_message(reason: str) -> str:
    """Say, in the viewer's language, why "Yes" did nothing."""
    if reason == "expired":
        return _(
            "This preview is more than 15 minutes old, so nothing was done. "
            "Check the new preview and confirm again."
        )
    if reason == "changed":
        return _(
            "The form was changed after the preview, so nothing was done. "
            "Check the new preview and confirm again."
        )
    if reason == "stale":
        return _(
            "The order changed since the preview, so nothing was done. "
            "Check the new preview and confirm again."
        )
    if reason == "recipients":
        return _(
            "The buyers of these events changed since the preview, so nothing "
            "was sent. Check the new preview and send again."
        )
    return _(
        "This confirmation does not belong to a preview shown to you, so "
        "nothing was done. Check the preview and confirm."
    )
