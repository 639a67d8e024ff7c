from django_tasks import task


@task()
def send_order_tickets(order_id: int) -> str:
    """Send the ticket e-mail of a paid order; see services.send_tickets."""
    from .services import send_tickets

    return send_tickets(order_id=order_id)
