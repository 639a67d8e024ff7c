"""Certificates made in the tests (cryptography): a "Swish" CA with an
intermediate that issues merchant certificates, and server certificates."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self, password: bytes | None = None) -> bytes:
        encryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )


def _name(cn: str, organisation: str = "") -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COUNTRY_NAME, "SE")]
    if organisation:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    parts.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(parts)


def issue(
    cn: str,
    *,
    issuer: Issued | None = None,
    ca: bool = False,
    valid_days: float = 730,
    valid_from_days: float | None = None,
    ip: str | None = None,
    dns: str | None = None,
    organisation: str = "",
) -> Issued:
    """A certificate for cn, signed by issuer (None: self-signed)."""
    if valid_from_days is None:  # a year before the end, yesterday at the latest
        valid_from_days = min(-1, valid_days - 365)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = _name(cn, organisation)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + timedelta(days=valid_from_days))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    names = [x509.IPAddress(ip_address(ip))] if ip else []
    names += [x509.DNSName(dns)] if dns else []
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(names), critical=False
        )
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


@dataclass
class SwishPKI:
    root: Issued
    intermediate: Issued

    def merchant(self, number: str, **kwargs) -> Issued:
        return issue(
            number, issuer=self.intermediate, organisation="5560997982", **kwargs
        )


def swish_pki() -> SwishPKI:
    root = issue("Test Root CA v2 for Swish", ca=True, valid_days=3650)
    intermediate = issue(
        "Test Customer CA1 v2 for Swish", issuer=root, ca=True, valid_days=3650
    )
    return SwishPKI(root, intermediate)


def write(
    directory: Path, name: str, *certs: Issued, key: Issued | None = None
) -> tuple[str, str]:
    """Write certs (in this order) to name.pem and key's key to name.key."""
    cert_path = directory / f"{name}.pem"
    cert_path.write_bytes(b"".join(c.pem() for c in certs))
    key_path = directory / f"{name}.key"
    key_path.write_bytes((key or certs[0]).key_pem())
    return str(cert_path), str(key_path)
