from django_tasks import task


@task()
def send_order_tickets(order_id: int) -> None:
    """Send the ticket e-mail of a paid order (filled in by the delivery issue)."""
    from .services import send_tickets

    send_tickets(order_id=order_id)
