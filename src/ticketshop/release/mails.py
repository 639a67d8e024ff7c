"""The queue's e-mails: the confirmation link (a ballot's at the join, a window
of minutes' at the admission), and a ballot's admission."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from .models import Entry


def link(name: str, token: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(name, args=[token])


def send_entry_mail(entry_id: int, kind: str) -> str:
    entry = Entry.objects.select_related("release__event").filter(pk=entry_id).first()
    if entry is None:
        return "gone"
    if kind == "confirm":
        # Sent once: queued at the join and, for an entry admitted before
        # that e-mail went out, again at a higher priority; whichever runs
        # first claims it (one UPDATE, no lock held while sending).
        claimed = Entry.objects.filter(
            pk=entry_id, confirm_mailed_at__isnull=True
        ).update(confirm_mailed_at=timezone.now())
        if not claimed:
            return "sent already"
        try:
            _send(entry, kind)
        except Exception:
            Entry.objects.filter(pk=entry_id).update(confirm_mailed_at=None)
            raise
        return kind
    _send(entry, kind)
    return kind


def _send(entry: Entry, kind: str) -> None:
    event = entry.release.event
    with translation.override(entry.language or "sv"):
        title = event.title_in(entry.language)
        if kind == "confirm" and entry.release.is_ballot:
            # A ballot's: sent at the join (only confirmed entries are drawn).
            subject = _("Confirm your place in the queue: %(title)s") % {"title": title}
            body = _(
                "You joined the queue for %(title)s.\n\n"
                "Open this link to confirm your e-mail address (an entry whose"
                " address is not confirmed passes its turn):\n%(link)s\n"
            ) % {"title": title, "link": link("release:confirm", entry.confirm_token)}
        elif kind == "confirm":
            # A window of minutes: sent when the turn comes (the admission).
            subject = _("Your turn: confirm your address for %(title)s") % {
                "title": title
            }
            body = _(
                "It is your turn to buy tickets for %(title)s: reserve them on"
                " the queue page.\n\n"
                "Open this link to confirm your e-mail address. The payment"
                " waits for it, and a reservation still unconfirmed when its"
                " hold runs out passes your turn on:\n%(link)s\n"
            ) % {"title": title, "link": link("release:confirm", entry.confirm_token)}
        else:
            until = timezone.localtime(entry.admission_expires_at)
            subject = _("Your turn: tickets for %(title)s") % {"title": title}
            body = _(
                "It is your turn to buy tickets for %(title)s.\n\n"
                "Open this link before %(until)s to reserve up to %(count)d"
                " tickets:\n%(link)s\n"
            ) % {
                "title": title,
                "until": formats.date_format(until, "DATETIME_FORMAT"),
                "count": entry.tickets_wanted,
                "link": link("release:admitted", entry.confirm_token),
            }
    send_mail(subject, body, None, [entry.email])
