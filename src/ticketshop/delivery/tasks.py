from django_tasks import task

from ticketshop.statemachine.machine import acting_as


@task()
def send_order_tickets(order_id: int) -> str:
    """Send the ticket e-mail of a paid order; see services.send_tickets."""
    from .services import send_tickets

    # History rows of what the worker records name it.
    with acting_as("worker"):
        return send_tickets(order_id=order_id)
