"""The organiser's view of a fair release: setting the sale mode (one use
case, one audit entry), pausing and resuming admissions, the funnel counted
in the database, the draw's commitment and seed, the waiting list with
positions, and the queue's steps in the audit log."""

import hashlib
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import event_with_types
from ticketshop import audit
from ticketshop.backoffice import selectors, services
from ticketshop.backoffice.models import AuditEntry
from ticketshop.release.models import Entry, EntryState, Release, SaleMode
from ticketshop.release.services import normalise_email, session_hash

from .conftest import user_in


def add_entry(release, *, session_token, email, tickets_wanted):
    """An entry as the queue's join makes it (rows only: the tests then set
    the states the queue's services would have reached)."""
    return Entry.objects.create(
        release=release,
        session_key_hash=session_hash(session_token),
        email=email,
        email_normalised=normalise_email(email),
        tickets_wanted=tickets_wanted,
        joined_at=timezone.now(),
    )


pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    """The use cases' messages in English (the shop's default is Swedish)."""
    with translation.override("en"):
        yield


def window(minutes_from_now=10, length=2):
    now = timezone.now().replace(microsecond=0)
    opens = now + timedelta(minutes=minutes_from_now)
    return {
        "queue_opens_at": now,
        "sale_opens_at": opens,
        "window_closes_at": opens + timedelta(minutes=length),
    }


def random_window(**overrides):
    values = {
        "mode": SaleMode.RANDOM_WINDOW,
        **window(),
        "admit_seconds": 300,
        "max_checking_out": 40,
        "overbook_factor": Decimal("1.2"),
        **overrides,
    }
    return services.ReleaseSettings(**values)


def join(release, n, *, state=None, rank=None, **fields):
    entry = add_entry(
        release,
        session_token=f"session-{n}",
        email=f"buyer{n}@example.org",
        tickets_wanted=fields.pop("tickets", 1),
    )
    if state is not None or rank is not None or fields:
        # The test sets the states the queue's services would have reached.
        Entry.objects.filter(pk=entry.pk).update(
            **({"state": state} if state else {}),
            **({"rank": rank} if rank is not None else {}),
            **fields,
        )
        entry.refresh_from_db()
    return entry


# --- The use cases -----------------------------------------------------------------


def test_setting_a_random_window_commits_to_a_secret_seed_on_the_record(
    organiser, show
):
    event, _ = show
    release = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    release.refresh_from_db()
    assert release.mode == SaleMode.RANDOM_WINDOW
    assert (release.admit_seconds, release.max_checking_out) == (300, 40)
    assert release.overbook_factor == Decimal("1.20")
    assert len(release.seed) == 64
    assert (
        release.seed_commitment
        == hashlib.sha256(bytes.fromhex(release.seed)).hexdigest()
    )
    entry = AuditEntry.objects.get(action="release_settings")
    assert entry.event_id == event.pk and entry.user == organiser
    assert entry.before == {}
    assert entry.after["mode"] == "random_window"
    assert entry.after["seed_commitment"] == release.seed_commitment
    # The seed itself is never in the log (it is secret until the draw).
    assert release.seed not in str(entry.after)
    with translation.override("sv"):
        assert "Fysikalen 2026" in entry.summary_text()


def test_changing_the_numbers_keeps_the_seed_and_logs_before_and_after(organiser, show):
    event, _ = show
    first = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    join(Release.objects.get(pk=first.pk), 1)
    second = services.set_release(
        user=organiser,
        event_id=event.pk,
        settings=random_window(
            queue_opens_at=first.queue_opens_at,
            sale_opens_at=first.sale_opens_at,
            window_closes_at=first.window_closes_at,
            max_checking_out=10,
        ),
    )
    assert second.pk == first.pk and second.seed == first.seed
    last = AuditEntry.objects.filter(action="release_settings").first()
    assert (last.before["max_checking_out"], last.after["max_checking_out"]) == (
        40,
        10,
    )


@pytest.mark.parametrize(
    "change",
    [
        {"mode": SaleMode.FIRST_COME},
        {"window_closes_at": "later"},
        {"queue_opens_at": "later"},
    ],
    ids=["mode", "window", "queue-opens"],
)
def test_once_people_joined_the_promised_draw_cannot_move(organiser, show, change):
    event, _ = show
    release = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    join(release, 1)
    same = {
        "queue_opens_at": release.queue_opens_at,
        "sale_opens_at": release.sale_opens_at,
        "window_closes_at": release.window_closes_at,
    }
    for name, value in change.items():
        same[name] = same[name] + timedelta(seconds=30) if value == "later" else value
    with pytest.raises(services.ReleaseChangeRefused, match="joined the queue"):
        services.set_release(
            user=organiser, event_id=event.pk, settings=random_window(**same)
        )
    release.refresh_from_db()
    assert release.mode == SaleMode.RANDOM_WINDOW
    assert release.window_closes_at == same["window_closes_at"] - (
        timedelta(seconds=30) if "window_closes_at" in change else timedelta(0)
    )
    assert AuditEntry.objects.filter(action="release_settings").count() == 1


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"window_closes_at": None}, "needs the time"),
        ({"overbook_factor": Decimal("2.5")}, "between 1.0 and 2.0"),
        ({"admit_seconds": 10}, "at least 30 seconds"),
        ({"max_checking_out": 0}, "At least one buyer"),
        ({"offer_seconds_on_show_day": 5}, "at least a minute"),
    ],
)
def test_impossible_settings_are_refused_with_words_and_nothing_written(
    organiser, show, bad, words
):
    event, _ = show
    with pytest.raises(services.ReleaseChangeRefused, match=words):
        services.set_release(
            user=organiser, event_id=event.pk, settings=random_window(**bad)
        )
    assert not Release.objects.exists() and not AuditEntry.objects.exists()


def test_a_window_closing_before_the_sale_opens_is_refused(organiser, show):
    event, _ = show
    times = window()
    times["window_closes_at"] = times["sale_opens_at"]
    with pytest.raises(services.ReleaseChangeRefused, match="closes after"):
        services.set_release(
            user=organiser, event_id=event.pk, settings=random_window(**times)
        )


def test_pausing_and_resuming_admissions_each_once_in_the_log(organiser, show):
    event, _ = show
    services.set_release(user=organiser, event_id=event.pk, settings=random_window())
    assert services.pause_release(user=organiser, event_id=event.pk, paused=True)
    assert not services.pause_release(user=organiser, event_id=event.pk, paused=True)
    assert Release.objects.get(event=event).paused
    assert services.pause_release(user=organiser, event_id=event.pk, paused=False)
    assert not Release.objects.get(event=event).paused
    actions = list(
        AuditEntry.objects.filter(action__in=["release_pause", "release_resume"])
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["release_pause", "release_resume"]
    paused = AuditEntry.objects.get(action="release_pause")
    assert (paused.before["paused"], paused.after["paused"]) == (False, True)


# --- The funnel and the waiting list -----------------------------------------------


def test_the_funnel_counts_each_stage_in_the_database(organiser, show):
    event, _ = show
    release = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    now = timezone.now()
    join(release, 1)
    join(release, 2, state=EntryState.WAITING, rank=7)
    join(release, 3, state=EntryState.ADMITTED, rank=1, admitted_at=now)
    join(release, 4, state=EntryState.RESERVED, rank=2, admitted_at=now)
    join(release, 5, state=EntryState.PAID, rank=3, admitted_at=now)
    join(release, 6, state=EntryState.LAPSED, rank=4, admitted_at=now)
    join(release, 7, state=EntryState.PASSED, rank=5, admitted_at=now)
    join(release, 8, state=EntryState.LEFT)
    join(release, 9, state=EntryState.SOLD_OUT_WAITING, rank=8)
    other = services.set_release(
        user=organiser,
        event_id=event_with_types(seats=5)[0].pk,
        settings=random_window(),
    )
    join(other, 10, state=EntryState.PAID)

    funnel = selectors.release_funnel(release)
    assert funnel == selectors.ReleaseFunnel(
        joined=9,
        waiting=2,
        admitted=5,
        reserved=2,
        paid=1,
        lapsed=2,
        left=1,
        waiting_list=1,
        offered=0,
    )


def test_the_waiting_list_has_positions_in_queue_order(organiser, show):
    event, _ = show
    release = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    start = timezone.now()
    late = join(
        release,
        1,
        state=EntryState.SOLD_OUT_WAITING,
        joined_at=start + timedelta(minutes=5),
    )
    second = join(release, 2, state=EntryState.SOLD_OUT_WAITING, rank=9)
    first = join(release, 3, state=EntryState.SOLD_OUT_WAITING, rank=4, tickets=3)
    join(release, 4, state=EntryState.PAID, rank=1)
    rows, total = selectors.waiting_list(release)
    assert total == 3
    assert [(r.position, r.public_id) for r in rows] == [
        (1, first.public_id),
        (2, second.public_id),
        (3, late.public_id),
    ]
    assert rows[0].tickets_wanted == 3
    rows, total = selectors.waiting_list(release, limit=1)
    assert (len(rows), total) == (1, 3)


# --- The queue's steps in the audit log --------------------------------------------


def test_each_admission_and_offer_is_one_audit_entry_in_both_languages(show):
    event, _ = show
    until = timezone.now() + timedelta(minutes=10)
    audit.record_queue(
        "release_admit",
        event_id=event.pk,
        entry="abc123",
        rank=17,
        seats=2,
        until=until,
    )
    audit.record_queue("waitlist_offer", event_id=event.pk, entry="xyz789", seats=1)
    admit, offer = AuditEntry.objects.order_by("id")
    assert admit.username == "queue" and admit.user is None
    assert admit.after == {
        "entry": "abc123",
        "rank": 17,
        "seats": 2,
        "until": until.isoformat(),
    }
    assert "abc123" in admit.summaries["en"] and "17" in admit.summaries["en"]
    assert admit.summaries["en"] != admit.summaries["sv"]
    assert "2 tickets" in admit.summaries["en"]
    assert "2 biljetter" in admit.summaries["sv"]
    assert "1 seat offered" in offer.summaries["en"]
    with translation.override("sv"):
        assert offer.action_label() == "platser erbjudna från väntelistan"
    with pytest.raises(ValueError, match="not a queue action"):
        audit.record_queue("cancel", event_id=event.pk)


# --- The page ---------------------------------------------------------------------


def page(client, event, lang="en", **kwargs):
    url = reverse("admin:backoffice_release", args=[event.pk])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=lang, **kwargs)


def post(client, event, data, lang="en"):
    url = reverse("admin:backoffice_release", args=[event.pk])
    return client.post(url, data, HTTP_ACCEPT_LANGUAGE=lang)


def form_data(**overrides):
    return {
        "action": "settings",
        "mode": "random_window",
        "queue_opens_at": "2031-03-01T11:00",
        "sale_opens_at": "2031-03-01T12:00:00",
        "window_closes_at": "2031-03-01T12:02:00",
        "admit_minutes": "5",
        "max_checking_out": "50",
        "overbook_factor": "1.1",
        "offer_hours_before_show_day": "6",
        "offer_minutes_on_show_day": "20",
        **overrides,
    }


def test_the_page_before_and_after_the_draw(client, organiser, show):
    event, _ = show
    client.force_login(organiser)
    english = page(client, event).content.decode()
    assert "first come, first served" in english
    release = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    english = page(client, event).content.decode()
    assert release.seed_commitment in english
    assert release.seed not in english
    assert "Secret until the draw" in english
    swedish = page(client, event, "sv").content.decode()
    assert "Hemligt till lottningen" in swedish
    Release.objects.filter(pk=release.pk).update(drawn_at=timezone.now())
    english = page(client, event).content.decode()
    assert f'<code id="seed">{release.seed}</code>' in english


def test_the_page_shows_the_funnel_and_the_waiting_list(client, organiser, show):
    event, _ = show
    release = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    for n in range(3):
        join(release, n, state=EntryState.SOLD_OUT_WAITING, rank=n + 1)
    join(release, 9, state=EntryState.PAID, rank=9)
    audit.record_queue("release_admit", event_id=event.pk, entry="e9", rank=9, seats=1)
    client.force_login(organiser)
    html = page(client, event).content.decode()
    assert '<span class="n" id="f-joined">4</span>' in html
    assert '<span class="n" id="f-paid">1</span>' in html
    assert '<span class="n" id="f-waiting-list">3</span>' in html
    assert "buyer2@example.org" in html
    assert "Entry e9 (place 9) admitted to reserve 1 ticket" in html
    swedish = page(client, event, "sv").content.decode()
    assert "Väntelista" in swedish and "plats 9" in swedish


def test_saving_the_form_uses_the_shops_time_zone(client, organiser, show):
    event, _ = show
    client.force_login(organiser)
    response = post(client, event, form_data())
    assert response.status_code == 302
    release = Release.objects.get(event=event)
    # 12:00 in Stockholm in March (CET) is 11:00 UTC.
    assert release.sale_opens_at.astimezone(UTC).hour == 11
    assert release.admit_seconds == 300
    assert release.offer_seconds_before_show_day == 6 * 3600
    form = page(client, event).content.decode()
    assert 'value="2031-03-01T12:00:00"' in form


@pytest.mark.parametrize(
    "bad, status, words",
    [
        ({"overbook_factor": "3"}, 400, "Overbooking factor"),
        ({"admit_minutes": "soon"}, 400, "Time to reserve"),
        ({"window_closes_at": ""}, 400, "needs the time"),
        ({"mode": "lottery"}, 400, "Sale mode"),
    ],
)
def test_bad_input_is_a_4xx_with_words(client, organiser, show, bad, status, words):
    event, _ = show
    client.force_login(organiser)
    response = post(client, event, form_data(**bad))
    assert response.status_code == status
    assert words in response.content.decode()
    assert not Release.objects.exists()


def test_a_refused_change_is_409(client, organiser, show):
    event, _ = show
    client.force_login(organiser)
    post(client, event, form_data())
    join(Release.objects.get(), 1)
    response = post(client, event, form_data(mode="first_come"))
    assert response.status_code == 409
    assert "joined the queue" in response.content.decode()


def test_pause_and_resume_buttons(client, organiser, show):
    event, _ = show
    services.set_release(user=organiser, event_id=event.pk, settings=random_window())
    client.force_login(organiser)
    assert 'id="pause-button"' in page(client, event).content.decode()
    assert post(client, event, {"action": "pause"}).status_code == 302
    html = page(client, event).content.decode()
    assert 'id="resume-button"' in html and 'id="paused"' in html
    assert post(client, event, {"action": "resume"}).status_code == 302
    assert not Release.objects.get().paused


def test_a_treasurer_sees_the_page_but_may_not_change_it(client, show, organiser):
    event, _ = show
    services.set_release(user=organiser, event_id=event.pk, settings=random_window())
    client.force_login(user_in("treasurer", "kassor"))
    html = page(client, event).content.decode()
    assert 'id="funnel"' in html
    assert 'id="release-form"' not in html and 'id="pause-form"' not in html
    assert post(client, event, {"action": "pause"}).status_code == 403
    assert post(client, event, form_data()).status_code == 403
    assert not Release.objects.get().paused
    client.force_login(user_in("door manager", "dorr"))
    assert page(client, event).status_code == 403


def test_the_event_page_links_to_the_release_page(client, organiser, show):
    event, _ = show
    client.force_login(organiser)
    html = client.get(reverse("admin:backoffice_event", args=[event.pk])).content
    assert reverse("admin:backoffice_release", args=[event.pk]).encode() in html


# --- The queue's own steps, from its machine's history ------------------------------


def test_the_draw_and_every_admission_and_lapse_are_in_the_audit_log(organiser):
    from ticketshop.release import services as queue

    event, _ = event_with_types(seats=3)
    now = timezone.now()
    release = services.set_release(
        user=organiser,
        event_id=event.pk,
        settings=random_window(
            queue_opens_at=now - timedelta(minutes=10),
            sale_opens_at=now - timedelta(minutes=5),
            window_closes_at=now - timedelta(minutes=3),
            max_checking_out=2,
        ),
    )
    entries = [join(release, n, joined_at=now - timedelta(minutes=4)) for n in range(5)]
    AuditEntry.objects.all().delete()
    assert queue.draw(release.pk)
    assert queue.admit(release.pk)["admitted"] == 2
    draw = AuditEntry.objects.get(action="release_draw")
    assert draw.after == {"entries": 5} and draw.event_id == event.pk
    admitted = Entry.objects.filter(state=EntryState.ADMITTED).order_by("rank")
    logged = AuditEntry.objects.filter(action="release_admit").order_by("id")
    assert [(a.after["entry"], a.after["rank"]) for a in logged] == [
        (e.public_id, e.rank) for e in admitted
    ]
    assert all(a.username == "queue" for a in logged)
    assert logged[0].after["until"] == admitted[0].admission_expires_at.isoformat()
    # The admissions lapse; the next two are admitted, each on the record.
    later = now + timedelta(seconds=release.admit_seconds + 1)
    assert queue.admit(release.pk, now=later)["admitted"] == 2
    lapsed = AuditEntry.objects.filter(action="release_lapse")
    assert sorted(a.after["entry"] for a in lapsed) == sorted(
        e.public_id for e in admitted
    )
    assert AuditEntry.objects.filter(action="release_admit").count() == 4
    # A second draw does nothing, and logs nothing.
    assert not queue.draw(release.pk)
    assert AuditEntry.objects.filter(action="release_draw").count() == 1
    assert len(entries) == 5


def test_each_waiting_list_offer_and_its_outcome_are_in_the_audit_log(organiser):
    from django.apps import apps

    if not apps.is_installed("ticketshop.waitlist"):
        pytest.skip("the waiting list (ticketshop.waitlist) is not installed")
    from ticketshop.statemachine.models import StateChange

    offer_model = apps.get_model("waitlist", "Offer")
    event, _ = event_with_types(seats=3)
    release = services.set_release(
        user=organiser, event_id=event.pk, settings=random_window()
    )
    entry = join(release, 1, state=EntryState.SOLD_OUT_WAITING, rank=5, tickets=2)
    now = timezone.now()
    offer = offer_model.objects.create(
        entry=entry,
        event=event,
        seats=2,
        token="t" * 40,
        offered_at=now,
        expires_at=now + timedelta(hours=6),
    )
    assert selectors.release_funnel(release).offered == 1
    rows, _ = selectors.waiting_list(release)
    assert (rows[0].offered, rows[0].offer_expires_at) == (2, offer.expires_at)

    def history(transition, before, after):
        StateChange.objects.create(
            machine="waitlist_offer",
            record_id=offer.pk,
            transition=transition,
            from_state=before,
            to_state=after,
            at=now,
        )

    history("offer", "", "offered")
    history("decline", "offered", "declined")
    history("lapse", "offered", "lapsed")
    logged = list(
        AuditEntry.objects.filter(action__startswith="waitlist_").order_by("id")
    )
    assert [a.action for a in logged] == [
        "waitlist_offer",
        "waitlist_declined",
        "waitlist_lapsed",
    ]
    assert logged[0].after == {
        "entry": entry.public_id,
        "rank": 5,
        "seats": 2,
        "until": offer.expires_at.isoformat(),
    }
    assert all(a.event_id == event.pk for a in logged)
