"""The local content-credentials signer (GEN-4): a two-certificate chain for the local cloud and the tests.

C2PA validators refuse a self-signed signing certificate, so a local CA issues the signing one (ES256,
digitalSignature, emailProtection). Keys are derived from fixed local labels and the certificates are
signed deterministically, so every process builds the same chain and a test can trust the local CA.
Production keeps its real chain and key in Secrets Manager (`c2pa-signing-chain`, `c2pa-signing-key`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache

VALID_FROM = datetime(2025, 1, 1, tzinfo=UTC)
VALID_UNTIL = datetime(2045, 1, 1, tzinfo=UTC)


def _key(realm: str, label: str):
    from cryptography.hazmat.primitives.asymmetric import ec

    seed = int.from_bytes(hashlib.sha256(f"pixelkeep-{realm}-only:{label}".encode()).digest(), "big")
    return ec.derive_private_key(seed % (2**255), ec.SECP256R1())


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pixelkeep local cloud"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(*, signer: bool):
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


@lru_cache(maxsize=2)
def local_signing(realm: str = "local") -> tuple[str, str, str]:
    """(certificate chain PEM, signer's private key PEM, CA certificate PEM). Another realm gives
    another, unrelated chain (the tests' untrusted signer)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    ca_key, signer_key = _key(realm, "c2pa-ca"), _key(realm, "c2pa-signer")
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("Pixelkeep local content credentials CA"))
        .issuer_name(_name("Pixelkeep local content credentials CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name("Pixelkeep local content credentials"))
        .issuer_name(ca.subject)
        .public_key(signer_key.public_key())
        .serial_number(2)
        .not_valid_before(VALID_FROM)
        .not_valid_after(VALID_UNTIL)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signer=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256(), ecdsa_deterministic=True)
    )
    pem = serialization.Encoding.PEM
    key = signer_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return (signer.public_bytes(pem) + ca.public_bytes(pem)).decode(), key.decode(), ca.public_bytes(pem).decode()
