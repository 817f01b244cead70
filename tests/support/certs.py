"""A throwaway PKI made with the `openssl` CLI, so TLS tests use real certificates.

Two CAs: the trusted one signs the server and a client; a "rogue" CA signs a client no server trusts.
Keys are EC P-256 (fast to generate), certificates are valid for 2 days.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

VALIDITY_DAYS = "2"
SERVER_EXTENSIONS = (
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=serverAuth\n"
    "subjectAltName=DNS:localhost,IP:127.0.0.1\n"
)
CLIENT_EXTENSIONS = (
    "basicConstraints=critical,CA:FALSE\n"
    "keyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=clientAuth\n"
)


@dataclass(frozen=True)
class CertPair:
    """A certificate and its private key, both PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class Pki:
    """Paths of every file `make_pki` wrote."""

    ca: CertPair  # the trusted CA
    ca_chain: Path  # the trusted CA certificate alone: what clients load to verify the server
    server: CertPair  # CN=localhost, SAN DNS:localhost + IP:127.0.0.1, signed by `ca`
    client: CertPair  # signed by `ca`: a client servers accept
    rogue_ca: CertPair  # a second CA nobody trusts
    rogue_client: CertPair  # signed by `rogue_ca`: a client servers must reject


def make_pki(directory: Path) -> Pki:
    """Write both CAs and the three leaf certificates into `directory` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = _make_ca(directory, name="ca")
    rogue_ca = _make_ca(directory, name="rogue-ca")
    server = _make_leaf(directory, name="server", common_name="localhost", issuer=ca, extensions=SERVER_EXTENSIONS)
    client = _make_leaf(directory, name="client", common_name="client", issuer=ca, extensions=CLIENT_EXTENSIONS)
    rogue_client = _make_leaf(
        directory,
        name="rogue-client",
        common_name="rogue-client",
        issuer=rogue_ca,
        extensions=CLIENT_EXTENSIONS,
    )
    return Pki(
        ca=ca,
        ca_chain=ca.cert,
        server=server,
        client=client,
        rogue_ca=rogue_ca,
        rogue_client=rogue_client,
    )


def _make_ca(directory: Path, *, name: str) -> CertPair:
    """A self-signed CA certificate with its key."""
    pair = CertPair(cert=directory / f"{name}.crt", key=directory / f"{name}.key")
    _make_key(pair.key)
    _openssl(
        "req", "-x509", "-new", "-key", pair.key, "-out", pair.cert, "-days", VALIDITY_DAYS,
        "-subj", f"/O=devo-sqs tests/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return pair


def _make_leaf(directory: Path, *, name: str, common_name: str, issuer: CertPair, extensions: str) -> CertPair:
    """A key, a CSR and a certificate signed by `issuer` carrying `extensions`."""
    pair = CertPair(cert=directory / f"{name}.crt", key=directory / f"{name}.key")
    csr = directory / f"{name}.csr"
    extfile = directory / f"{name}.ext"
    extfile.write_text(extensions)
    _make_key(pair.key)
    _openssl("req", "-new", "-key", pair.key, "-out", csr, "-subj", f"/O=devo-sqs tests/CN={common_name}")
    _openssl(
        "x509", "-req", "-in", csr, "-CA", issuer.cert, "-CAkey", issuer.key, "-CAcreateserial",
        "-out", pair.cert, "-days", VALIDITY_DAYS, "-extfile", extfile,
    )  # fmt: skip
    return pair


def _make_key(path: Path) -> None:
    """An EC P-256 private key in PKCS#8 PEM (readable by both Python ssl and GnuTLS)."""
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)
    path.chmod(0o600)


def _openssl(*args: str | Path) -> None:
    """Run one openssl command; its stderr ends up in the exception if it fails."""
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)
