"""The one base class of the shop's domain errors."""


class ShopError(Exception):
    """A rule of the shop refused the operation; carries data, never a status."""
