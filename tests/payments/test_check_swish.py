"""manage.py check_swish, the certificate system checks and /healthz's
"swish" field, with certificates generated here (tests/payments/certmaterial)."""

import base64
import hashlib
import io
import logging
import re
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from ticketshop.payments import certificates
from ticketshop.payments.checks import check_swish_certificate

from .certmaterial import issue, swish_pki, write

ALIAS = "1231181189"
CHECK_CALLBACK_TLS = certificates.check_callback_tls


@pytest.fixture(autouse=True)
def no_callback_handshake(monkeypatch):
    """The callback host of these settings (shop.example.org) is not
    reached from the tests; the no-SNI handshake has its own tests below,
    against a local TLS server."""
    monkeypatch.setattr(certificates, "check_callback_tls", lambda: [])


def run_check() -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("check_swish", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def pki():
    return swish_pki()


@pytest.fixture
def material(pki, tmp_path, settings):
    """Good material: the merchant certificate of ALIAS with its chain."""
    merchant = pki.merchant(ALIAS)
    cert, key = write(tmp_path, "swish", merchant, pki.intermediate, pki.root)
    settings.SWISH_CERT_PATH = cert
    settings.SWISH_KEY_PATH = key
    settings.SWISH_PAYEE_ALIAS = ALIAS
    settings.SWISH_CA_PATH = ""
    settings.SWISH_CALLBACK_URL = ""
    settings.PUBLIC_BASE_URL = "https://shop.example.org"
    return merchant


@pytest.fixture
def against_simulator(swish, settings):
    """MSS-style configuration (certificate files) with the API URL pointing
    at the live server's simulator (plain HTTP, so no handshake)."""
    settings.SWISH_ENVIRONMENT = "mss"
    settings.SWISH_API_URL = f"{swish.url}/swish-simulator/swish-cpcapi/api/"
    settings.SWISH_CALLBACK_URL = "https://shop.example.org/swish/callback/"
    return swish


def use(settings, tmp_path, *certs, key=None):
    cert, key_path = write(tmp_path, "other", *certs, key=key)
    settings.SWISH_CERT_PATH = cert
    settings.SWISH_KEY_PATH = key_path


# --- Against the simulator ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_demo_defaults_skip_the_certificate_and_pass(swish):
    code, out, err = run_check()
    assert code == 0, err
    assert "skipped: Certificate checks skipped: the simulator" in out
    assert "skipped: TLS handshake skipped" in out
    assert "ok: The simulator answered 404" in out
    assert out.rstrip().endswith("Swish check passed.")


@pytest.mark.django_db(transaction=True)
def test_good_material_against_the_simulator_passes(material, against_simulator):
    code, out, err = run_check()
    assert code == 0, err
    assert f"ok: Certificate and key match; issued to {ALIAS}" in out
    assert err == ""


@pytest.mark.django_db(transaction=True)
def test_expiring_within_30_days_warns_and_passes(
    pki, material, against_simulator, settings, tmp_path
):
    merchant = pki.merchant(ALIAS, valid_days=12.5)
    use(settings, tmp_path, merchant, pki.intermediate, pki.root)
    code, out, err = run_check()
    assert code == 0
    assert "warning: The Swish certificate (issued to 1231181189) expires on" in err
    assert "in 12 days: order a new one in Swish's certificate portal" in err
    assert "Swish check passed." in out


@pytest.mark.django_db(transaction=True)
def test_simulator_not_running_fails_with_what_to_fix(settings, refused_port, material):
    settings.SWISH_ENVIRONMENT = "simulator"
    settings.SWISH_API_URL = ""
    settings.PUBLIC_BASE_URL = f"http://127.0.0.1:{refused_port}"
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 2.0
    code, _, err = run_check()
    assert code == 1
    assert "failed (" in err and "check SWISH_API_URL and that Swish" in err


# --- Bad material: each fails with its sentence, before any network call ----


@pytest.mark.parametrize(
    "case, sentence",
    [
        (
            "expired",
            "error: The Swish certificate (issued to 1231181189) expired on ",
        ),
        (
            "other-key",
            "error: The key in SWISH_KEY_PATH does not belong to the certificate "
            "in SWISH_CERT_PATH (issued to 1231181189): install the key",
        ),
        (
            "wrong-alias",
            "error: The Swish certificate is issued to 1239999999, not to "
            "SWISH_PAYEE_ALIAS 1231181189: install the certificate of 1231181189",
        ),
        (
            "chain-first",
            "error: SWISH_CERT_PATH does not start with the merchant certificate",
        ),
        ("encrypted-key", "error: The key in SWISH_KEY_PATH is encrypted"),
        ("not-pem", "error: SWISH_CERT_PATH holds no PEM certificate"),
    ],
)
def test_bad_material_fails_with_the_sentence(
    case, sentence, pki, material, settings, tmp_path
):
    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_API_URL = "https://192.0.2.1/never/called/"  # TEST-NET-1
    chain = (pki.intermediate, pki.root)
    if case == "expired":
        use(settings, tmp_path, pki.merchant(ALIAS, valid_days=-1), *chain)
    elif case == "other-key":
        use(settings, tmp_path, material, *chain, key=pki.merchant(ALIAS))
    elif case == "wrong-alias":
        use(settings, tmp_path, pki.merchant("1239999999"), *chain)
    elif case == "chain-first":
        use(settings, tmp_path, pki.root, pki.intermediate, material, key=material)
    elif case == "encrypted-key":
        path = tmp_path / "encrypted.key"
        path.write_bytes(material.key_pem(password=b"swish"))
        settings.SWISH_KEY_PATH = str(path)
    elif case == "not-pem":
        path = tmp_path / "swish.p12.pem"
        path.write_bytes(b"\x30\x82binary pkcs12, not PEM")
        settings.SWISH_CERT_PATH = str(path)
    code, out, err = run_check()
    assert code == 1
    assert sentence in err
    assert "skipped: Network checks skipped until the files are fixed." in out


def test_certificate_without_its_chain_warns(pki, material, tmp_path, settings):
    cert, key = write(tmp_path, "clcerts", material)
    findings = certificates.check_material(cert, key, ALIAS)
    assert [(f.level, f.code) for f in findings] == [("warning", "no-chain")]
    assert "export it again from the .p12 without -clcerts" in findings[0].text


def test_the_mss_test_certificate_that_getswish_ships_passes_the_file_checks(
    settings,
):
    settings.SWISH_ENVIRONMENT = "mss"
    settings.SWISH_CERT_PATH = settings.SWISH_KEY_PATH = ""
    settings.SWISH_PAYEE_ALIAS = "1234679304"
    findings = certificates.check_configured_material()
    assert [f.code for f in findings] == ["material-ok"], findings


# --- Against a TLS server (Swish's role) --------------------------------------


class _SwishStandIn(BaseHTTPRequestHandler):
    answer = 404

    def do_GET(self):  # noqa: N802
        self.server.paths.append(self.path)
        self.send_response(self.answer)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def tls_server(pki, tmp_path):
    """Start a TLS server on 127.0.0.1 that asks for a client certificate of
    the Swish test CA; returns a function (server certificate, answer) ->
    (its API URL, its CA file)."""
    servers = []

    def start(server_cert, *, answer=404, chain=()):
        cert_path, key_path = write(tmp_path, "server", server_cert, *chain)
        client_ca = tmp_path / "swish-client-ca.pem"
        client_ca.write_bytes(pki.root.pem())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(str(client_ca))
        handler = type("Handler", (_SwishStandIn,), {"answer": answer})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.paths = []
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_port}/swish-cpcapi/api/", server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server_ca():
    """The public CA that issues Swish's server certificate (DigiCert's role)."""
    return issue("Test Global Root G2", ca=True, valid_days=3650)


def production(settings, tmp_path, url, ca):
    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_API_URL = url
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 5.0
    settings.PUBLIC_BASE_URL = "https://shop.example.org"
    settings.SWISH_CALLBACK_URL = ""
    if ca is not None:
        path = tmp_path / "ca-bundle.pem"
        path.write_bytes(ca.pem())
        settings.SWISH_CA_PATH = str(path)


def test_trusted_server_and_accepted_certificate_pass(
    material, tls_server, server_ca, settings, tmp_path
):
    url, server = tls_server(issue("127.0.0.1", issuer=server_ca, ip="127.0.0.1"))
    production(settings, tmp_path, url, server_ca)
    code, out, err = run_check()
    assert code == 0, err
    assert "ok: 127.0.0.1 verified with" in out
    # The root of the bundle the chain ended at is named.
    assert "to the root Test Global Root G2 (SHA-256 " in out
    assert "ok: Swish answered 404 for a payment request that does not exist" in out
    assert len(server.paths) == 1
    assert "/paymentrequests/" in server.paths[0]


def test_untrusted_server_fails(material, tls_server, server_ca, settings, tmp_path):
    # Self-signed: not issued by the CA bundle's root.
    url, server = tls_server(issue("127.0.0.1", ip="127.0.0.1"))
    production(settings, tmp_path, url, server_ca)
    code, _, err = run_check()
    assert code == 1
    assert (
        "error: Swish's server 127.0.0.1 did not verify with the CA bundle "
        "(self-signed certificate): set SWISH_CA_PATH to a bundle with the root"
    ) in err
    assert server.paths == []  # no request was sent


def test_untrusted_server_fails_with_the_default_bundle_too(
    material, tls_server, server_ca, settings, tmp_path
):
    url, _ = tls_server(issue("127.0.0.1", issuer=server_ca, ip="127.0.0.1"))
    production(settings, tmp_path, url, None)  # certifi's bundle
    settings.SWISH_CA_PATH = ""
    code, _, err = run_check()
    assert code == 1
    assert "did not verify with the CA bundle (unable to get local issuer" in err


def test_refused_certificate_fails(material, tls_server, server_ca, settings, tmp_path):
    url, _ = tls_server(
        issue("127.0.0.1", issuer=server_ca, ip="127.0.0.1"), answer=401
    )
    production(settings, tmp_path, url, server_ca)
    code, _, err = run_check()
    assert code == 1
    assert "error: Swish refused the certificate (HTTP 401): check that it is" in err


def test_certificate_of_another_ca_fails_the_handshake(
    tls_server, server_ca, settings, tmp_path
):
    stranger = issue(ALIAS)  # self-signed: the server does not know its issuer
    use(settings, tmp_path, stranger)
    settings.SWISH_PAYEE_ALIAS = ALIAS
    url, server = tls_server(issue("127.0.0.1", issuer=server_ca, ip="127.0.0.1"))
    production(settings, tmp_path, url, server_ca)
    code, _, err = run_check()
    assert code == 1
    # Refused in the handshake (TLS 1.2) or on the first read (TLS 1.3).
    assert "check that SWISH_CERT_PATH holds the merchant certificate" in err, err
    assert server.paths == []


# --- System checks ----------------------------------------------------------------


def test_system_check_warns_and_never_errs(pki, material, settings, tmp_path):
    settings.SWISH_ENVIRONMENT = "production"
    assert check_swish_certificate(None) == []
    use(settings, tmp_path, pki.merchant(ALIAS, valid_days=-3))
    messages = check_swish_certificate(None)
    ids = sorted(m.id for m in messages)
    assert ids == ["payments.W104", "payments.W107"]
    assert not any(m.is_serious() for m in messages)
    assert "expired on" in next(m.msg for m in messages if m.id.endswith("W104"))


def test_system_check_leaves_missing_files_to_the_refusal(settings, tmp_path):
    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_CERT_PATH = str(tmp_path / "absent.pem")
    settings.SWISH_KEY_PATH = str(tmp_path / "absent.key")
    assert check_swish_certificate(None) == []


def test_system_check_is_silent_for_the_simulator(settings, tmp_path):
    settings.SWISH_ENVIRONMENT = "simulator"
    settings.SWISH_CERT_PATH = str(tmp_path / "x.pem")
    settings.SWISH_KEY_PATH = str(tmp_path / "x.key")
    assert check_swish_certificate(None) == []


# --- /healthz -------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_reports_the_certificate_without_failing(
    pki, material, settings, tmp_path, client
):
    settings.SWISH_ENVIRONMENT = "production"
    assert client.get("/healthz?scope=web").json()["swish"] == "ok"
    # The same file rewritten: a new mtime and size, so not the cached answer.
    merchant = pki.merchant(ALIAS, valid_days=-1)
    with open(settings.SWISH_CERT_PATH, "wb") as out:
        out.write(merchant.pem() + pki.intermediate.pem() + pki.root.pem() + b"\n")
    with open(settings.SWISH_KEY_PATH, "wb") as out:
        out.write(merchant.key_pem())
    response = client.get("/healthz?scope=web")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["swish"].startswith("The Swish certificate (issued to 1231181189)")
    assert "expired on" in body["swish"]
    assert str(tmp_path) not in body["swish"]  # no paths on a public page


@pytest.mark.django_db
def test_healthz_polls_do_not_read_the_files_again(material, settings, client):
    settings.SWISH_ENVIRONMENT = "production"
    calls = []
    real = certificates.check_configured_material

    def counting(**kwargs):
        calls.append(1)
        return real(**kwargs)

    certificates._cached.clear()
    try:
        certificates.check_configured_material = counting
        for _ in range(5):
            assert client.get("/healthz?scope=web").json()["swish"] == "ok"
    finally:
        certificates.check_configured_material = real
    assert len(calls) == 1


# --- The workers' hourly check ------------------------------------------------


@pytest.mark.django_db
def test_scheduled_check_logs_each_problem(material, settings, refused_port, caplog):
    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_API_URL = f"https://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    with caplog.at_level(logging.INFO, logger="ticketshop.payments.certificates"):
        assert certificates.scheduled_check() == 1
    assert "Swish check: Swish's API at 127.0.0.1" in caplog.text
    assert "cannot be reached" in caplog.text


# --- The callback URL ------------------------------------------------------------


@pytest.mark.parametrize(
    "url, sentence",
    [
        ("http://shop.example.org", "Swish calls back only to HTTPS, not to http://"),
        ("https://shop.example.org:8443", "Swish calls back only to port 443, not to"),
    ],
)
def test_callback_url_swish_cannot_reach_fails(url, sentence, material, settings):
    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_API_URL = "https://192.0.2.1/never/called/"
    settings.SWISH_CALLBACK_URL = ""
    settings.PUBLIC_BASE_URL = url
    code, _, err = run_check()
    assert code == 1
    assert f"error: {sentence}" in err


# --- At start and in the worker -------------------------------------------------


def test_server_starts_with_an_expired_certificate_and_logs_why(pki, tmp_path):
    from tests.fresh_process import WSGI, run_fresh

    from .test_swish_settings import PRODUCTION

    cert, key = write(
        tmp_path, "swish", pki.merchant(ALIAS, valid_days=-1), pki.intermediate
    )
    result = run_fresh(
        f"{WSGI}; print('started')",
        tmp_path,
        **PRODUCTION,
        SWISH_CERT_PATH=cert,
        SWISH_KEY_PATH=key,
    )
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout
    assert "The Swish certificate (issued to 1231181189) expired on" in result.stderr
    assert "(payments.W104)" in result.stderr


@pytest.mark.django_db
def test_one_worker_runs_the_network_check_hourly(material, settings, refused_port):
    from django.utils import timezone

    from ticketshop.ops import upkeep

    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_API_URL = f"https://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    first = upkeep.tick(worker_id="w1", started_at=timezone.now())
    assert first.get("swish_problems") == 1
    again = upkeep.tick(worker_id="w2", started_at=timezone.now())
    assert "swish_problems" not in again


# --- The callback host, without SNI (Swish's callback client sends none) -----


@pytest.fixture
def callback_host(tmp_path):
    """Start a TLS server on 127.0.0.1 for "localhost" (the shop's role,
    behind its proxy): ``start(named, default)`` serves ``named`` to clients
    that send SNI and ``default`` (or ends the handshake, if None) to those
    that do not. Returns the callback URL."""
    servers = []

    def start(named, default):
        def context(issued):
            cert, key = write(tmp_path, f"host-{len(servers)}-{id(issued)}", issued)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            return ctx

        named_context = context(named)
        main = context(default) if default else ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        seen = []

        def choose(sock, server_name, _ctx):
            seen.append(server_name)
            if server_name is not None:
                sock.context = named_context
                return None
            if default is None:
                # What Caddy does with no certificate to choose.
                return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
            return None

        main.sni_callback = choose
        listener = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()

        def serve():
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                try:
                    with main.wrap_socket(conn, server_side=True):
                        pass
                except (ssl.SSLError, OSError):
                    conn.close()

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        servers.append((listener, stop, thread))
        port = listener.getsockname()[1]
        return f"https://localhost:{port}/swish/callback/", seen

    yield start
    for listener, stop, thread in servers:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def public_ca(tmp_path):
    """A public CA (Let's Encrypt's role) and its bundle file."""
    ca = issue("Test Public Root X1", ca=True, valid_days=3650)
    path = tmp_path / "public-cas.pem"
    path.write_bytes(ca.pem())
    return ca, str(path)


def test_callback_host_answering_without_sni_passes(callback_host, public_ca, settings):
    ca, bundle = public_ca
    shop = issue("localhost", issuer=ca, dns="localhost")
    url, seen = callback_host(shop, default=shop)  # as with default_sni
    settings.SWISH_ENVIRONMENT = "production"
    (finding,) = CHECK_CALLBACK_TLS(url, cafile=bundle, timeout=5)
    assert finding.code == "callback-tls-ok", finding
    assert finding.text.startswith(
        "The callback host localhost answers a handshake without SNI with its "
        "own certificate, verified to the public root Test Public Root X1"
    )
    assert seen == [None]  # the check named no host


def test_callback_host_that_needs_sni_fails(callback_host, public_ca, settings):
    """Caddy without default_sni: the shop's certificate only for clients
    that name it; a client without SNI gets the handshake ended."""
    ca, bundle = public_ca
    shop = issue("localhost", issuer=ca, dns="localhost")
    url, seen = callback_host(shop, default=None)
    settings.SWISH_ENVIRONMENT = "production"
    (finding,) = CHECK_CALLBACK_TLS(url, cafile=bundle, timeout=5)
    assert (finding.level, finding.code) == ("error", "callback-no-sni"), finding
    assert "ends a TLS handshake that names no host" in finding.text
    assert "set default_sni to the shop's name" in finding.text
    # The same host works for a client that sends SNI: only its absence fails.
    context = ssl.create_default_context(cafile=bundle)
    port = urlsplit(url).port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version()
    assert seen == [None, "localhost"]


def test_callback_host_serving_another_default_certificate_fails(
    callback_host, public_ca, settings
):
    ca, bundle = public_ca
    shop = issue("localhost", issuer=ca, dns="localhost")
    other = issue("other.example.org", issuer=ca, dns="other.example.org")
    url, _ = callback_host(shop, default=other)
    settings.SWISH_ENVIRONMENT = "mss"  # a warning before production
    (finding,) = CHECK_CALLBACK_TLS(url, cafile=bundle, timeout=5)
    assert (finding.level, finding.code) == ("warning", "callback-wrong-name")
    assert "a certificate for other.example.org, not for the callback host" in (
        finding.text
    )


def test_callback_host_with_a_certificate_of_no_public_ca_fails(
    callback_host, public_ca, settings
):
    _, bundle = public_ca
    self_signed = issue("localhost", dns="localhost")
    url, _ = callback_host(self_signed, default=self_signed)
    settings.SWISH_ENVIRONMENT = "production"
    (finding,) = CHECK_CALLBACK_TLS(url, cafile=bundle, timeout=5)
    assert (finding.level, finding.code) == ("error", "callback-untrusted"), finding


def test_check_swish_reports_the_handshake_without_sni(
    material, against_simulator, callback_host, public_ca, settings, monkeypatch
):
    ca, bundle = public_ca
    shop = issue("localhost", issuer=ca, dns="localhost")
    url, seen = callback_host(shop, default=None)
    settings.SWISH_CALLBACK_URL = url
    monkeypatch.setattr(certificates, "check_callback_tls", CHECK_CALLBACK_TLS)
    monkeypatch.setattr(certificates, "public_ca_bundle", lambda: bundle)
    code, out, err = run_check()
    # MSS: a warning (the port too), so the check still passes; production
    # would fail on it.
    assert code == 0, err
    assert "warning: localhost:" in err
    assert "ends a TLS handshake that names no host" in err
    assert seen == [None]


# --- The locked CA bundle -------------------------------------------------------

# DigiCert Global Root G2: the root Swish ships as Swish_TLS_RootCA.pem with
# its test certificates (the MSS bundle in getswish), SHA-256 of the DER.
DIGICERT_GLOBAL_ROOT_G2 = (
    "CB3CCBB76031E5E0138F8DD39A23F9DE47FFC35E43C1144CEA27D46A5AB1CB5F"
)


def _fingerprints(path: str) -> set[str]:
    """SHA-256 of each certificate's DER in a PEM bundle (not parsed: certifi
    holds a root that newer cryptography warns about)."""
    text = Path(path).read_text()
    blocks = re.findall(
        r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S
    )
    return {hashlib.sha256(base64.b64decode(b)).hexdigest().upper() for b in blocks}


def test_the_locked_ca_bundle_holds_the_root_swish_ships():
    """certifi's bundle (requirements.lock; what the client verifies Swish's
    server with when SWISH_CA_PATH is empty) holds the root of Swish's own
    test bundle, which the client uses for MSS."""
    import certifi
    from getswish.environments import TestCertificates

    assert _fingerprints(TestCertificates.verify.public) == {DIGICERT_GLOBAL_ROOT_G2}
    assert DIGICERT_GLOBAL_ROOT_G2 in _fingerprints(certifi.where())


# DigiCert Global Root CA: the older root that third-party notes name for
# Swish's production API; certifi no longer holds it.
DIGICERT_GLOBAL_ROOT_CA = (
    "4348A0E9444C78CB265E058D5E8944B4D84F9662BD26DB257F8934A443C70161"
)


def test_the_default_bundle_holds_certifi_and_both_roots_swish_chains_to():
    """Without SWISH_CA_PATH the client verifies Swish's API with certifi's
    bundle plus the two DigiCert roots Swish's servers are known to chain to
    (production: Global Root CA or G2; test: G2)."""
    import certifi

    from ticketshop.payments import swish

    bundle = _fingerprints(swish.default_ca_bundle())
    assert _fingerprints(str(swish.SWISH_ROOTS)) == {
        DIGICERT_GLOBAL_ROOT_CA,
        DIGICERT_GLOBAL_ROOT_G2,
    }
    assert {DIGICERT_GLOBAL_ROOT_CA, DIGICERT_GLOBAL_ROOT_G2} <= bundle
    assert _fingerprints(certifi.where()) <= bundle


def test_production_verifies_with_the_default_bundle_unless_a_path_is_set(
    settings, tmp_path
):
    from ticketshop.payments import swish

    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_CERT_PATH = str(tmp_path / "cert.pem")
    settings.SWISH_KEY_PATH = str(tmp_path / "key.pem")
    settings.SWISH_CA_PATH = ""
    assert swish.tls_material()[1] == swish.default_ca_bundle()
    assert certificates.ca_bundle() == swish.default_ca_bundle()
    settings.SWISH_CA_PATH = str(tmp_path / "own.pem")
    assert swish.tls_material()[1] == str(tmp_path / "own.pem")
