"""The order's state machine, ``ORDER``: its table and transitions live
together in ``lifecycle.py`` (the only writer of an order's state); it is
named here, as every app's machine is, so that the docs' table renderer
(``statemachine.tables``) finds it."""

from .lifecycle import ORDER

__all__ = ["ORDER"]
