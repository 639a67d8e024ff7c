from django_tasks import task

from ticketshop.statemachine.machine import acting_as


@task()
def send_entry_mail(entry_id: int, kind: str) -> str:
    """E-mail a queue entry its confirmation link or (ballot) its admission."""
    from .mails import send_entry_mail as send

    with acting_as("worker"):
        return send(entry_id, kind)
