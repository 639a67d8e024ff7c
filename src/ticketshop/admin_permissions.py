"""Admin permission mixins shared by every app (a neutral module: scanning
must not import the back office, nor the back office scanning).

Records whose changes belong to a state machine, a log or an outbox are shown
in the admin but never added, edited or deleted there.
"""


class NoAddNoDeleteMixin:
    """No "add" and no "delete": rows are created and removed by the shop."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyMixin(NoAddNoDeleteMixin):
    """Shown, never added, changed or deleted in the admin."""

    def has_change_permission(self, request, obj=None):
        return False
