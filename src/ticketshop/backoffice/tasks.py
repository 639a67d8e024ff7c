from django_tasks import task


@task()
def send_outgoing_mail(mail_id: int) -> str:
    """Send one e-mail of the back office's outbox; see outbox.send_mail."""
    from .outbox import send_mail

    return send_mail(mail_id=mail_id)
