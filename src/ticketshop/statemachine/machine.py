"""A state machine for a model's ``status``: its table, its guard, its history.

Each record with states of its own (orders, Swish payments, Swish refunds,
ticket deliveries, outgoing mail) has one ``Machine``: a table of
``Transition`` rows (the states each may start from, the state it ends in,
and a few words per column for the docs), and it is the only writer of its
records' status (tests/test_state_owners.py holds that). A transition:

1. ``machine.check(name, record, ok, why)``: inside a transaction, raises
   ``TransitionNotAllowed`` unless the record's state is one the transition
   starts from and the caller's extra condition ``ok`` holds;
2. changes what the transition changes on the record;
3. ``machine.save(record, name, fields)``: sets the target state, saves the
   changed fields and writes one ``StateChange`` row (from, to, transition,
   actor, time) in the same transaction.

``machine.allowed(name, record)`` answers "may this happen now?" with a
reason, without raising, for pages that offer actions. ``acting_as`` names
who or what is acting (a staff member, the buyer, Swish's callback, a
sweep) for the history rows written inside it.

This module imports only Django and the database layer (``db.sql``, for the
history row's insert); every app may import it.
"""

import contextlib
import contextvars
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models.signals import post_save
from django.utils import timezone

from ticketshop.db import sql

logger = logging.getLogger(__name__)

_ACTOR: contextvars.ContextVar[str] = contextvars.ContextVar("actor", default="")

MACHINES: dict[str, "Machine"] = {}


@contextlib.contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """History rows written inside this block name ``actor``."""
    token = _ACTOR.set(actor[:150])
    try:
        yield
    finally:
        _ACTOR.reset(token)


def current_actor() -> str:
    return _ACTOR.get() or "process"


def staff_actor(user) -> str:
    """The actor name of a staff member (``staff:<username>``)."""
    return f"staff:{user.get_username()}" if user is not None else "process"


@dataclass(frozen=True)
class Transition:
    name: str
    # States it may start from (None: it creates the record).
    sources: tuple[str | None, ...]
    # The state it ends in (None: unchanged).
    target: str | None
    # A few words per column of the machine's table (``Machine.columns``).
    notes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


class TransitionNotAllowed(Exception):
    """The record's state does not allow this transition; nothing was written."""

    def __init__(
        self, machine: "Machine", name: str, record: Any, why: str = ""
    ) -> None:
        state = machine.describe_state(record)
        super().__init__(
            f"{name} is not allowed for {machine.name} {machine.label(record)}"
            f" ({state}){why}"
        )
        self.name = name
        self.machine = machine.name


class Machine:
    """The state machine of one model's ``field`` (``status`` by default)."""

    def __init__(
        self,
        name: str,
        transitions: Iterable[Transition],
        *,
        states: Iterable[str],
        columns: Iterable[str] = (),
        field: str = "status",
        label=None,
        describe_state=None,
    ) -> None:
        self.name = name
        self.transitions: dict[str, Transition] = {t.name: t for t in transitions}
        self.states = tuple(states)
        self.columns = tuple(columns)
        self.field = field
        self._label = label or (lambda record: str(record.pk))
        self._describe_state = describe_state
        for t in self.transitions.values():
            unknown = {s for s in (*t.sources, t.target) if s is not None} - set(
                self.states
            )
            if unknown:
                raise ValueError(f"{name}.{t.name}: unknown states {sorted(unknown)}")
        MACHINES[name] = self

    def label(self, record: Any) -> str:
        return self._label(record)

    def describe_state(self, record: Any) -> str:
        """The record's state as a refusal names it (``describe_state``, or
        the state field's value)."""
        if self._describe_state is not None:
            return self._describe_state(record)
        return getattr(record, self.field, None)

    def __getitem__(self, name: str) -> Transition:
        return self.transitions[name]

    # --- asking ---------------------------------------------------------
    def allowed(
        self, name: str, record: Any, ok: bool = True, why: str = ""
    ) -> Verdict:
        """May ``name`` happen to ``record`` now? With the reason if not."""
        transition = self.transitions[name]
        state = getattr(record, self.field, None) if record is not None else None
        if state not in transition.sources:
            allowed_from = ", ".join(s or "(new)" for s in transition.sources)
            return Verdict(False, f"{state or '(new)'} is not one of {allowed_from}")
        if not ok:
            return Verdict(False, why.strip(" :;,") or "its condition does not hold")
        return Verdict(True)

    # --- changing -------------------------------------------------------
    def check(self, name: str, record: Any, ok: bool = True, why: str = "") -> None:
        """Raise ``TransitionNotAllowed`` unless ``name`` may happen now.

        Must run inside a transaction (the caller's, holding the record's lock).
        """
        if not connection.in_atomic_block:
            raise RuntimeError(f"{self.name} transitions must run inside a transaction")
        if not self.allowed(name, record, ok, why):
            raise self.not_allowed(name, record, why)

    def not_allowed(
        self, name: str, record: Any, why: str = ""
    ) -> TransitionNotAllowed:
        return TransitionNotAllowed(self, name, record, why)

    def save(
        self,
        record: Any,
        name: str,
        fields: Iterable[str] = (),
        *,
        before: str | None = None,
        created: bool = False,
    ) -> None:
        """Set the target state, save ``fields`` and write the history row.

        ``before`` is the state the record was in when the transition began
        (read from the record if not given: pass it when the caller changed
        the state itself). ``created``: the record was just inserted by the
        transition (its fields are saved already; only the row is written).
        """
        target = self.transitions[name].target
        previous = (
            ""
            if created
            else (before if before is not None else getattr(record, self.field))
        )
        changed = set(fields)
        if target is not None and getattr(record, self.field) != target:
            setattr(record, self.field, target)
            changed.add(self.field)
        if not created:
            update = sorted(changed)
            if update and _has_field(record, "updated_at"):
                update.append("updated_at")
            if update:
                record.save(update_fields=update)
        self.record(record.pk, name, previous or "", getattr(record, self.field))
        logger.info(
            "%s %s: %s -> %s",
            self.name,
            self.label(record),
            name,
            getattr(record, self.field),
        )

    def record(self, record_id: int, name: str, from_state: str, to_state: str) -> None:
        """Write one history row (for transitions made by a bulk statement,
        use ``record_many``). Every transition writes one, so its insert is
        written once per process (``db.sql.insert_rows_sql``) rather than
        compiled by the ORM each time; ``post_save`` is sent as ``create``
        sends it (the back office's queue audit listens)."""
        from .models import StateChange

        row = StateChange(
            machine=self.name,
            record_id=record_id,
            transition=name,
            from_state=from_state or "",
            to_state=to_state,
            actor=current_actor(),
            at=timezone.now(),
        )
        alias = connection.alias
        with connection.cursor() as cursor:
            cursor.execute(
                sql.insert_rows_sql(alias, StateChange, 1),
                sql.insert_params(alias, [row]),
            )
            (pk,) = cursor.fetchone()
        sql.mark_saved(alias, row, pk)
        post_save.send(
            sender=StateChange,
            instance=row,
            created=True,
            update_fields=None,
            raw=False,
            using=alias,
        )

    def record_many(self, rows: Iterable[tuple[int, str, str]], name: str) -> None:
        """History rows for ``(record_id, from_state, to_state)`` changed in bulk."""
        from .models import StateChange

        now = timezone.now()
        actor = current_actor()
        StateChange.objects.bulk_create(
            [
                StateChange(
                    machine=self.name,
                    record_id=record_id,
                    transition=name,
                    from_state=from_state or "",
                    to_state=to_state,
                    actor=actor,
                    at=now,
                )
                for record_id, from_state, to_state in rows
            ]
        )

    def history(self, record_id: int):
        """The record's history rows, oldest first."""
        from .models import StateChange

        return StateChange.objects.filter(
            machine=self.name, record_id=record_id
        ).order_by("at", "id")

    # --- docs -----------------------------------------------------------
    def describe(self) -> str:
        """The table as Markdown (docs render it; a test compares)."""
        head = ["transition", "from", "to", *self.columns]
        rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for t in self.transitions.values():
            sources = (
                "any"
                if set(t.sources) == set(self.states)
                else ", ".join(s or "(new)" for s in t.sources)
            )
            cells = [t.name, sources, t.target or "unchanged"]
            cells += [t.notes.get(column, "-") for column in self.columns]
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)


def _has_field(record: Any, name: str) -> bool:
    try:
        record._meta.get_field(name)
    except Exception:
        return False
    return True
