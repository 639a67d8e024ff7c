from django_tasks import task

from ticketshop.statemachine.machine import acting_as


@task()
def offer_freed_seats(event_id: int) -> list[int]:
    """Offer an event's free seats down its waiting list; see
    services.offer_seats."""
    from .services import offer_seats

    # History rows of what the worker records name it.
    with acting_as("waitlist"):
        return offer_seats(event_id=event_id)
