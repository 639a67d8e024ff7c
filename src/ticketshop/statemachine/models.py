from django.db import models
from django.utils.translation import gettext_lazy as _


class StateChange(models.Model):
    """One transition of one record of one state machine: the history row.

    Written by ``Machine.save`` in the transaction that makes the change, so
    a change without its row (or a row without its change) cannot commit.
    ``record_id`` is the record's primary key in its machine's table; the
    machine's name says which table (``order``, ``swish_payment`` …).
    """

    machine = models.CharField(_("machine"), max_length=32)
    record_id = models.BigIntegerField(_("record"))
    transition = models.CharField(_("transition"), max_length=48)
    from_state = models.CharField(_("from"), max_length=32, blank=True)
    to_state = models.CharField(_("to"), max_length=32)
    # Who or what made it: "staff:<username>", "buyer", "swish-callback",
    # "reconcile", "sweep" … (``machine.acting_as``); "process" when unset.
    actor = models.CharField(_("by"), max_length=150, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("state change")
        verbose_name_plural = _("state changes")
        indexes = [
            models.Index(
                fields=["machine", "record_id", "at"], name="state_change_record_idx"
            ),
        ]
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return (
            f"{self.machine} {self.record_id}: {self.transition}"
            f" {self.from_state or '(new)'} -> {self.to_state}"
        )
