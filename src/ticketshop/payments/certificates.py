"""Checks of the Swish client certificate, its key and Swish's server.

Two kinds, with one sentence per problem that says what to fix:

- ``check_material`` reads the files only (certificate with its chain, key):
  do they load, does the key belong to the certificate, is it valid for more
  than ``EXPIRY_WARNING_DAYS`` days, is it issued to ``SWISH_PAYEE_ALIAS``
  (Swish puts the merchant's Swish number in the subject CN). Cheap: run by
  the Django system checks at start and, cached, by ``GET /healthz``.
- ``check_connection`` goes over the network: a TLS handshake with the
  configured API host, verified with the configured CA bundle
  (``SWISH_CA_PATH``, else certifi's, as requests uses), then one harmless
  authenticated call (reading a payment request id that does not exist:
  ``404`` means Swish accepted the certificate). Run by ``manage.py
  check_swish`` and, hourly, by one task worker (ops.upkeep); never on every
  management command or health poll. It says which root of the bundle
  verified Swish's server.
- ``check_callback_tls`` goes over the network too, the other way: a TLS
  handshake WITHOUT SNI with the callback host, as Swish's callback client
  makes it, verified with the public CAs (certifi's), the certificate's
  names checked against the host.
"""

import logging
import os
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from django.conf import settings

from . import swish

logger = logging.getLogger(__name__)

EXPIRY_WARNING_DAYS = 30
ERROR = "error"
WARNING = "warning"
SKIPPED = "skipped"
OK = "ok"


@dataclass(frozen=True)
class Finding:
    level: str  # "error", "warning", "skipped" or "ok"
    text: str  # one sentence; for errors and warnings, what to fix
    code: str = ""  # short id, e.g. "expired" (tests, system check ids)


def problems(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level in (ERROR, WARNING)]


def uses_certificate() -> bool:
    """The simulator is plain HTTP; MSS and production use a certificate."""
    return settings.SWISH_ENVIRONMENT in ("mss", "production")


def api_base() -> str:
    """The Swish API base the shop's client calls (…/swish-cpcapi/api/)."""
    return swish.base_url()


def material_paths() -> tuple[str, str]:
    """The certificate and key the client uses (``swish.tls_material``): the
    configured files, or for MSS without them the test certificate that
    getswish ships; ("", "") when production has none configured."""
    try:
        pair, _ca = swish.tls_material()
    except RuntimeError:
        return "", ""
    return pair or ("", "")


def ca_bundle() -> str:
    """The CA bundle the client verifies Swish's server with: SWISH_CA_PATH,
    Swish's test root for MSS, else certifi's (requests' own)."""
    try:
        _pair, ca = swish.tls_material()
    except RuntimeError:
        ca = settings.SWISH_CA_PATH or True
    if ca is True:
        import certifi

        return certifi.where()
    return ca


def _bundle_name() -> str:
    """The bundle as check_swish names it."""
    if settings.SWISH_CA_PATH:
        return settings.SWISH_CA_PATH
    if ca_bundle() == swish.default_ca_bundle():
        return "certifi and the shop's Swish roots"
    return "certifi"


# --- The files -----------------------------------------------------------------


def _subject_cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _public_der(key) -> bytes:
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def check_material(
    cert_path: str,
    key_path: str,
    alias: str,
    *,
    now: datetime | None = None,
) -> list[Finding]:
    """Check the certificate file (leaf first, then its chain) and the key."""
    now = now or datetime.now(UTC)
    findings = []
    try:
        certs = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
    except OSError as exc:
        return [
            Finding(
                ERROR,
                f"SWISH_CERT_PATH cannot be read ({exc.strerror}): point it at the "
                "certificate file, readable by the shop's user.",
                "cert-unreadable",
            )
        ]
    except ValueError:
        return [
            Finding(
                ERROR,
                "SWISH_CERT_PATH holds no PEM certificate: convert the .p12 from "
                "Swish's certificate portal as docs/swish.md shows (Swish in "
                "production).",
                "cert-not-pem",
            )
        ]
    try:
        key = serialization.load_pem_private_key(
            Path(key_path).read_bytes(), password=None
        )
    except OSError as exc:
        return [
            Finding(
                ERROR,
                f"SWISH_KEY_PATH cannot be read ({exc.strerror}): point it at the "
                "private key file, readable by the shop's user.",
                "key-unreadable",
            )
        ]
    except TypeError:
        return [
            Finding(
                ERROR,
                "The key in SWISH_KEY_PATH is encrypted: export it without a "
                "password (openssl pkcs12 … -nocerts -nodes, or openssl pkey -in "
                "it -out a new file).",
                "key-encrypted",
            )
        ]
    except Exception:  # ValueError, or a key type cryptography does not read
        return [
            Finding(
                ERROR,
                "SWISH_KEY_PATH holds no PEM private key: export the key from the "
                ".p12 as docs/swish.md shows (Swish in production).",
                "key-not-pem",
            )
        ]

    leaf = certs[0]
    matching = [
        c for c in certs if _public_der(c.public_key()) == _public_der(key.public_key())
    ]
    if not matching:
        return [
            Finding(
                ERROR,
                "The key in SWISH_KEY_PATH does not belong to the certificate in "
                f"SWISH_CERT_PATH (issued to {_subject_cn(leaf) or 'no CN'}): "
                "install the key the certificate was ordered with, or export both "
                "from the same .p12.",
                "key-mismatch",
            )
        ]
    if matching[0] is not leaf:
        # OpenSSL (and so requests) presents the first certificate of the file.
        findings.append(
            Finding(
                ERROR,
                "SWISH_CERT_PATH does not start with the merchant certificate "
                f"(issued to {_subject_cn(matching[0])}): put it first and its "
                "chain after it.",
                "leaf-not-first",
            )
        )
        leaf = matching[0]

    cn = _subject_cn(leaf)
    expires = leaf.not_valid_after_utc
    if expires <= now:
        findings.append(
            Finding(
                ERROR,
                f"The Swish certificate (issued to {cn}) expired on {_day(expires)}: "
                "order a new one in Swish's certificate portal and install it "
                "with its key.",
                "expired",
            )
        )
    elif expires - now < timedelta(days=EXPIRY_WARNING_DAYS):
        days = (expires - now).days
        findings.append(
            Finding(
                WARNING,
                f"The Swish certificate (issued to {cn}) expires on {_day(expires)}, "
                f"in {days} days: order a new one in Swish's certificate portal "
                "and install it before then.",
                "expiring",
            )
        )
    if leaf.not_valid_before_utc > now:
        findings.append(
            Finding(
                ERROR,
                f"The Swish certificate is valid only from "
                f"{_day(leaf.not_valid_before_utc)}: check this server's clock.",
                "not-yet-valid",
            )
        )
    if alias and cn.replace(" ", "") != alias.replace(" ", ""):
        findings.append(
            Finding(
                ERROR,
                f"The Swish certificate is issued to {cn or 'no Swish number'}, not "
                f"to SWISH_PAYEE_ALIAS {alias}: install the certificate of {alias}, "
                "or set SWISH_PAYEE_ALIAS to the number it was issued to.",
                "wrong-alias",
            )
        )
    subjects = {c.subject for c in certs}
    if leaf.issuer != leaf.subject and leaf.issuer not in subjects:
        issuer = leaf.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
        findings.append(
            Finding(
                WARNING,
                "SWISH_CERT_PATH holds the certificate without the chain it was "
                f"issued with ({issuer[0].value if issuer else leaf.issuer}): "
                "export it again from the .p12 without -clcerts, or append the "
                "chain from Swish's portal.",
                "no-chain",
            )
        )
    if not problems(findings):
        findings.append(
            Finding(
                OK,
                f"Certificate and key match; issued to {cn}, valid until "
                f"{_day(expires)}.",
                "material-ok",
            )
        )
    return findings


def check_configured_material(*, now: datetime | None = None) -> list[Finding]:
    """check_material on the configured files, with what is skipped and why."""
    if not uses_certificate():
        return [
            Finding(
                SKIPPED,
                "Certificate checks skipped: the simulator uses plain HTTP and "
                "no certificate.",
                "simulator",
            )
        ]
    cert, key = material_paths()
    if not (cert and key):
        return [
            Finding(
                ERROR,
                "Swish in production needs SWISH_CERT_PATH and SWISH_KEY_PATH: "
                "install the certificate and key as docs/swish.md shows.",
                "no-files",
            )
        ]
    return check_material(cert, key, settings.SWISH_PAYEE_ALIAS, now=now)


# --- Cached state for /healthz ------------------------------------------------

_CACHE_SECONDS = 300.0
_cache_lock = threading.Lock()
_cached: dict = {}


def _stamp(path: str) -> tuple:
    try:
        stat = os.stat(path)
    except OSError:
        return (path, None)
    return (path, stat.st_mtime_ns, stat.st_size)


def health_state() -> str:
    """ "ok", or the sentences of the problems the files show (cached).

    Recomputed when a setting or a file changes, else at most every five
    minutes per process (the expiry warning moves with the clock): a poll
    costs two stat() calls.
    """
    key = (
        settings.SWISH_ENVIRONMENT,
        settings.SWISH_PAYEE_ALIAS,
        *(_stamp(path) for path in material_paths()),
    )
    now = time.monotonic()
    with _cache_lock:
        if _cached.get("key") == key and now - _cached["at"] < _CACHE_SECONDS:
            return _cached["state"]
    try:
        found = problems(check_configured_material())
    except Exception:
        logger.warning("Swish certificate check failed", exc_info=True)
        found = [Finding(ERROR, "The Swish certificate could not be checked.")]
    state = " ".join(f.text for f in found) if found else OK
    with _cache_lock:
        _cached.update(key=key, at=now, state=state)
    return state


# --- The network ----------------------------------------------------------------


def _verified_root(tls: ssl.SSLSocket) -> x509.Certificate | None:
    """The root of the bundle that the server's chain was verified to (the
    last certificate of OpenSSL's verified chain); None if this Python does
    not tell (get_verified_chain: public from 3.13, private in 3.10-3.12)."""
    chain = getattr(tls, "get_verified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_verified_chain", None
    )
    if chain is None:
        return None
    try:
        certs = chain()
        if not certs:
            return None
        last = certs[-1]
        der = (
            last
            if isinstance(last, bytes)
            else last.public_bytes(ssl._ssl.ENCODING_DER)  # noqa: SLF001
        )
        return x509.load_der_x509_certificate(der)
    except Exception:  # an unexpected form: the report just omits the root
        logger.debug("verified chain not readable", exc_info=True)
        return None


def describe_root(root: x509.Certificate | None) -> str:
    """'DigiCert Global Root G2 (SHA-256 CB3CCBB7…)', for the report."""
    if root is None:
        return "a root this Python does not name"
    fingerprint = root.fingerprint(hashes.SHA256()).hex().upper()
    name = _subject_cn(root) or root.subject.rfc4514_string()
    return f"{name} (SHA-256 {fingerprint[:8]}…)"


def _handshake(host: str, port: int, *, cert: str, key: str, timeout: float):
    """(TLS version, the bundle's root the server verified to)."""
    context = ssl.create_default_context(cafile=ca_bundle())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if cert and key:
        context.load_cert_chain(cert, key)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.version(), _verified_root(tls)


def check_connection(*, timeout: float | None = None) -> list[Finding]:
    """TLS handshake with the API host, then one authenticated read."""
    from . import swish

    timeout = timeout or settings.SWISH_HTTP_TIMEOUT_SECONDS
    base = api_base()
    parts = urlsplit(base)
    host = parts.hostname or ""
    findings = []
    if parts.scheme == "https":
        port = parts.port or 443
        cert, key = material_paths()
        try:
            version, root = _handshake(host, port, cert=cert, key=key, timeout=timeout)
        except ssl.SSLCertVerificationError as exc:
            return [
                Finding(
                    ERROR,
                    f"Swish's server {host} did not verify with the CA bundle "
                    f"({exc.verify_message}): set SWISH_CA_PATH to a bundle with "
                    "the root Swish's server chains to (DigiCert Global Root G2 "
                    "for Swish's test server; see docs/swish.md), or leave it "
                    "empty for certifi's.",
                    "untrusted-server",
                )
            ]
        except ssl.SSLError as exc:
            return [
                Finding(
                    ERROR,
                    f"The TLS handshake with {host} failed ({exc}): check that "
                    "SWISH_CERT_PATH holds the merchant certificate with its "
                    "chain and SWISH_KEY_PATH its key.",
                    "handshake-failed",
                )
            ]
        except OSError as exc:
            return [
                Finding(
                    ERROR,
                    f"Swish's API at {host}:{port} cannot be reached ({exc}): check "
                    "SWISH_API_URL, DNS and that this server may connect out to "
                    f"port {port}.",
                    "unreachable",
                )
            ]
        findings.append(
            Finding(
                OK,
                f"{host} verified with {_bundle_name()} "
                f"({version}), to the root {describe_root(root)}.",
                "tls-ok",
            )
        )
    else:
        findings.append(
            Finding(
                SKIPPED,
                f"TLS handshake skipped: {base} is plain HTTP (the simulator).",
                "plain-http",
            )
        )
    absent = uuid.uuid4().hex.upper()
    try:
        swish.read_payment_request(absent)
    except swish.SwishRefused as exc:
        if exc.status == 404 and parts.scheme != "https":
            findings.append(
                Finding(
                    OK,
                    "The simulator answered 404 for a payment request that does "
                    "not exist (it checks no certificate).",
                    "authenticated",
                )
            )
        elif exc.status == 404:
            findings.append(
                Finding(
                    OK,
                    "Swish answered 404 for a payment request that does not "
                    "exist: the certificate is accepted.",
                    "authenticated",
                )
            )
        elif exc.status in (401, 403):
            findings.append(
                Finding(
                    ERROR,
                    f"Swish refused the certificate (HTTP {exc.status}): check that "
                    "it is the merchant certificate for SWISH_PAYEE_ALIAS from "
                    "Swish's certificate portal and that the number is enrolled "
                    "for Swish Commerce.",
                    "not-authenticated",
                )
            )
        else:
            findings.append(
                Finding(
                    ERROR,
                    f"Swish answered HTTP {exc.status} to reading a payment request: "
                    "check SWISH_API_URL (it should end in /swish-cpcapi/api/).",
                    "unexpected-status",
                )
            )
    except swish.SwishUnavailable as exc:
        if parts.scheme == "https" and "SSL" in str(exc):
            # TLS 1.3: a refused client certificate shows on the first read.
            findings.append(
                Finding(
                    ERROR,
                    f"The TLS connection to {host} broke on the first request "
                    f"({str(exc)[-120:]}): Swish did not accept the client "
                    "certificate; check that SWISH_CERT_PATH holds the merchant "
                    "certificate with its chain and SWISH_KEY_PATH its key.",
                    "handshake-failed",
                )
            )
            return findings
        findings.append(
            Finding(
                ERROR,
                f"Reading a payment request from {base} failed ({exc}): check "
                "SWISH_API_URL and that Swish (or the simulator) is running.",
                "unavailable",
            )
        )
    else:
        findings.append(
            Finding(
                ERROR,
                "Swish returned a payment request for an id that should not "
                "exist: check that SWISH_API_URL points at Swish.",
                "unexpected-status",
            )
        )
    return findings


def check_callback_url() -> list[Finding]:
    """Swish calls back only to HTTPS on port 443 (MSS too; the simulator
    also takes plain HTTP on loopback)."""
    from .swish import callback_url

    if not uses_certificate():
        return []
    url = callback_url()
    parts = urlsplit(url)
    level = ERROR if settings.SWISH_ENVIRONMENT == "production" else WARNING
    if parts.scheme != "https":
        return [
            Finding(
                level,
                f"Swish calls back only to HTTPS, not to {url}: set "
                "PUBLIC_BASE_URL (or SWISH_CALLBACK_URL) to the shop's https:// "
                "address.",
                "callback-not-https",
            )
        ]
    if parts.port not in (None, 443):
        return [
            Finding(
                level,
                f"Swish calls back only to port 443, not to {url}: serve the "
                "shop's callback on port 443 and drop the port from "
                "PUBLIC_BASE_URL (or SWISH_CALLBACK_URL).",
                "callback-port",
            )
        ]
    return []


def public_ca_bundle() -> str:
    """The CAs Swish verifies the callback server with ("a list of commonly
    recognised CAs"): certifi's bundle stands for them."""
    import certifi

    return certifi.where()


def _certificate_names(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) the certificate is issued for."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], []
    return (
        [name.lower() for name in san.get_values_for_type(x509.DNSName)],
        [str(ip) for ip in san.get_values_for_type(x509.IPAddress)],
    )


def _name_matches(host: str, cert: x509.Certificate) -> bool:
    """Whether the certificate is issued for host (RFC 6125: the names in
    subjectAltName; a wildcard stands for the leftmost label only)."""
    dns_names, addresses = _certificate_names(cert)
    if host in addresses:
        return True
    host = host.lower().rstrip(".")
    for name in dns_names:
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            if host.split(".", 1)[1] == name[2:]:
                return True
    return False


def _handshake_without_sni(host: str, port: int, *, cafile: str, timeout: float):
    """A TLS handshake that names no host (no SNI), as Swish's callback
    client makes it, verified with cafile: (TLS version, server certificate,
    the root it verified to). The name is checked by the caller: OpenSSL
    checks the name only when it is also sent."""
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False  # no server_hostname: no SNI
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=None) as tls:
            der = tls.getpeercert(binary_form=True)
            return (
                tls.version(),
                x509.load_der_x509_certificate(der),
                _verified_root(tls),
            )


def check_callback_tls(
    url: str | None = None, *, cafile: str | None = None, timeout: float | None = None
) -> list[Finding]:
    """Swish's callback client sends no SNI: shake hands with the callback
    host the same way and say what it got. An error in production (a
    warning for MSS) when the handshake fails, the certificate is not for
    the host, or no public CA issued it; a warning when the host cannot be
    reached from here (a firewall may keep this server from its own public
    address: try from another machine, as docs/swish.md shows)."""
    from .swish import callback_url

    url = url or callback_url()
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme != "https" or not host:
        return [
            Finding(
                SKIPPED,
                f"Handshake without SNI skipped: the callback URL {url} is not HTTPS.",
                "callback-tls-skipped",
            )
        ]
    port = parts.port or 443
    level = ERROR if settings.SWISH_ENVIRONMENT == "production" else WARNING
    timeout = timeout or settings.SWISH_HTTP_TIMEOUT_SECONDS
    try:
        version, cert, root = _handshake_without_sni(
            host, port, cafile=cafile or public_ca_bundle(), timeout=timeout
        )
    except ssl.SSLCertVerificationError as exc:
        return [
            Finding(
                level,
                f"Without SNI, {host} answers with a certificate no public CA "
                f"verifies ({exc.verify_message}), so Swish refuses its "
                "callbacks: serve a certificate of a public CA (Let's Encrypt, "
                "as Caddy gets) as the default on that address.",
                "callback-untrusted",
            )
        ]
    except ssl.SSLError as exc:
        return [
            Finding(
                level,
                f"{host}:{port} ends a TLS handshake that names no host ({exc}), "
                "as Swish's callbacks make it: set default_sni to the shop's "
                "name in the proxy (deploy/Caddyfile does), or make its "
                "certificate the default on that address.",
                "callback-no-sni",
            )
        ]
    except OSError as exc:
        return [
            Finding(
                WARNING,
                f"The callback host {host}:{port} cannot be reached from here "
                f"({exc}): check from another machine that it answers without "
                "SNI (openssl s_client -noservername, docs/swish.md).",
                "callback-unreachable",
            )
        ]
    if not _name_matches(host, cert):
        dns_names, addresses = _certificate_names(cert)
        names = ", ".join(dns_names + addresses) or _subject_cn(cert) or "no name"
        return [
            Finding(
                level,
                f"Without SNI, {host} answers with a certificate for {names}, "
                "not for the callback host, so Swish refuses its callbacks: "
                f"set default_sni {host} in the proxy (deploy/Caddyfile sets "
                "it to SHOP_DOMAIN), or make its certificate the default on "
                "that address.",
                "callback-wrong-name",
            )
        ]
    return [
        Finding(
            OK,
            f"The callback host {host} answers a handshake without SNI with its "
            f"own certificate, verified to the public root "
            f"{describe_root(root)} ({version}).",
            "callback-tls-ok",
        )
    ]


def check_all() -> list[Finding]:
    findings = check_callback_url() + check_configured_material()
    if any(f.level == ERROR for f in findings):
        return findings + [
            Finding(
                SKIPPED,
                "Network checks skipped until the files are fixed.",
                "network-skipped",
            )
        ]
    callback = []
    if uses_certificate() and not any(f.code == "callback-not-https" for f in findings):
        callback = check_callback_tls()
    return findings + check_connection() + callback


def scheduled_check() -> int:
    """The worker's hourly check (MSS and production): logs each problem."""
    found = problems(check_all())
    for finding in found:
        log = logger.error if finding.level == ERROR else logger.warning
        log("Swish check: %s", finding.text)
    if not found:
        logger.info("Swish check: certificate, server and authentication ok")
    return len(found)
