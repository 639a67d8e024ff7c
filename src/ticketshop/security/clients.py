"""The address a request is counted against, and when it arrived."""

import ipaddress
from datetime import UTC, datetime, timedelta

from django.conf import settings

# Clocks of the proxy and the app server may differ by this much.
_CLOCK_SKEW = timedelta(seconds=1)


def client_address(request) -> str:
    """Return the client's address as the outermost trusted proxy saw it.

    REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT reverse proxies that many
    entries from the right of X-Forwarded-For (entries further left are the
    client's to invent, so they are never read).
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies > 0 and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        return hops[-min(proxies, len(hops))] or "unknown"
    return request.META.get("REMOTE_ADDR") or "unknown"


def client_key(address: str) -> str:
    """Return the key a rate limit counts: the address, or an IPv6 /64.

    One IPv6 subscriber usually holds a whole /64, so counting single IPv6
    addresses would let one machine take a fresh address per request.
    """
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if parsed.version == 6:
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def ip_or_none(address: str) -> str | None:
    """Return the address if it is an IP address (for a GenericIPAddressField)."""
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def axes_client_ip(request) -> str | None:
    """The client address for django-axes, which stores it as an IP address."""
    return ip_or_none(client_address(request))


def arrived_at(request, *, now: datetime) -> datetime:
    """When the request reached the outermost proxy, else ``now``.

    Behind TRUSTED_PROXY_COUNT proxies the first one stamps every request
    with ``X-Request-Start`` (milliseconds since the epoch; Caddy sets it,
    replacing any the client sent: deploy/Caddyfile). A request that waited
    in front of a busy app server then counts from when the buyer sent it.
    The stamp is believed only RELEASE_ARRIVAL_GRACE_SECONDS back (a proxy
    that passed a client's own stamp on could not move a request further)
    and never later than ``now``.
    """
    stamp = request.META.get("HTTP_X_REQUEST_START", "")
    if settings.TRUSTED_PROXY_COUNT <= 0 or not stamp.isdigit() or len(stamp) > 15:
        return now
    at = datetime.fromtimestamp(int(stamp) / 1000, tz=UTC)
    earliest = now - timedelta(seconds=settings.RELEASE_ARRIVAL_GRACE_SECONDS)
    if at < earliest or at > now + _CLOCK_SKEW:
        return now
    return min(at, now)
