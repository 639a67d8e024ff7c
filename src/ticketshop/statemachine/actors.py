"""Who acts: the entry points name the actor of the history rows.

``acting_as`` (in ``machine``) names who or what makes the transitions
written inside it. The entry points set it: the buyer's views (``ActingAs``
with ``actor = "buyer"``), Swish's callback ("swish-callback"), the door
("staff:<scanner>"), reconciliation and sweeps ("reconcile", "sweep"), and,
for every request of a signed-in staff member to Django admin (where the back
office lives too), ``StaffActorMiddleware``: "staff:<username>".

This module imports only Django; every app may import it.
"""

from .machine import acting_as, staff_actor

# Where staff act: Django admin, and the back office inside it.
STAFF_PREFIXES = ("/admin/",)


class ActingAs:
    """A view mixin: the history rows written while the view answers name
    ``actor``."""

    actor = "process"

    def dispatch(self, request, *args, **kwargs):
        with acting_as(self.actor):
            return super().dispatch(request, *args, **kwargs)


class StaffActorMiddleware:
    """A signed-in staff member's request under Django admin (and the back
    office) acts as ``staff:<username>``. After AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(STAFF_PREFIXES):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and user.is_staff:
                with acting_as(staff_actor(user)):
                    return self.get_response(request)
        return self.get_response(request)
