from django_tasks import task

from ticketshop.statemachine.machine import acting_as


@task()
def send_outgoing_mail(mail_id: int) -> str:
    """Send one e-mail of the back office's outbox; see outbox.send_mail."""
    from .outbox import send_mail

    # History rows of what the worker records name it.
    with acting_as("worker"):
        return send_mail(mail_id=mail_id)
