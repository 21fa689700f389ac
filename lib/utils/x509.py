"""Certificates and secrets of a cluster.

The cluster certificate (server.pem: key and self-signed certificate in one
file) is also the authority of the cluster: each node's client certificate
(client.pem) is signed with its key, and node daemons trust only
certificates that chain to it.  Certificates are identified by their SHA1
digest in Ganeti's notation, uppercase hex pairs joined by colons.

The `cryptography` package is imported on first use only: command-line
tools that never touch certificates start without it.
"""

import datetime
import hashlib
import os
import secrets
import time
from types import ModuleType
from typing import Any, Optional

from ganeti.utils import io
from ganeti.utils import thirdparty

CERT_VALIDITY_DAYS = 5 * 365
RSA_BITS = 2048
# a fresh certificate is valid from a little in the past: clocks of nodes differ
_CLOCK_SKEW = datetime.timedelta(hours=1)
PEM_FILE_MODE = 0o600


def _crypto() -> tuple[ModuleType, ModuleType, ModuleType, ModuleType, ModuleType]:
  """(x509, hashes, serialization, rsa, NameOID) of the cryptography package."""
  x509_mod = thirdparty.Import("cryptography.x509")
  hashes = thirdparty.Import("cryptography.hazmat.primitives.hashes")
  serialization = thirdparty.Import("cryptography.hazmat.primitives.serialization")
  rsa = thirdparty.Import("cryptography.hazmat.primitives.asymmetric.rsa")
  oid = thirdparty.Import("cryptography.x509.oid")
  return x509_mod, hashes, serialization, rsa, oid.NameOID


def _NewCertificate(common_name: str, issuer_cert: Any, issuer_key: Any,
                    validity_days: int) -> str:
  """A new key and its certificate, signed by issuer (self-signed when None), as PEM."""
  x509_mod, hashes, serialization, rsa, name_oid = _crypto()
  key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
  subject = x509_mod.Name([x509_mod.NameAttribute(name_oid.COMMON_NAME, common_name)])
  now = datetime.datetime.now(datetime.timezone.utc)
  self_signed = issuer_cert is None
  builder = (x509_mod.CertificateBuilder()
             .subject_name(subject)
             .issuer_name(subject if self_signed else issuer_cert.subject)
             .public_key(key.public_key())
             .serial_number(int.from_bytes(os.urandom(8), "big") >> 1)
             .not_valid_before(now - _CLOCK_SKEW)
             .not_valid_after(now + datetime.timedelta(days=validity_days))
             # the self-signed cluster certificate signs the nodes' client certificates
             .add_extension(x509_mod.BasicConstraints(ca=self_signed, path_length=None),
                            critical=True)
             # key identifiers tell a signed certificate from a self-signed one
             # even when both carry the cluster name as subject
             .add_extension(x509_mod.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False))
  if not self_signed:
    builder = builder.add_extension(
      x509_mod.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
      critical=False)
  cert = builder.sign(key if self_signed else issuer_key, hashes.SHA256())
  key_pem = key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())
  return (key_pem + cert.public_bytes(serialization.Encoding.PEM)).decode("ascii")


def GenerateSelfSignedPem(common_name: str, validity_days: int = CERT_VALIDITY_DAYS) -> str:
  """A private key and a self-signed certificate for it, both PEM, in one text."""
  return _NewCertificate(common_name, None, None, validity_days)


def GenerateSignedPem(signer_pem: str, common_name: str,
                      validity_days: int = CERT_VALIDITY_DAYS) -> str:
  """A new key and a certificate signed by signer_pem's key (PEM key+cert), as PEM."""
  x509_mod, _, serialization, _, _ = _crypto()
  data = signer_pem.encode("ascii")
  signer_cert = x509_mod.load_pem_x509_certificate(data)
  signer_key = serialization.load_pem_private_key(data, password=None)
  return _NewCertificate(common_name, signer_cert, signer_key, validity_days)


def WriteSelfSignedPem(path: str, common_name: str) -> None:
  io.WriteFile(path, GenerateSelfSignedPem(common_name), mode=PEM_FILE_MODE)


def WriteSignedPem(path: str, signer_path: str, common_name: str) -> str:
  """Writes a certificate signed by the key in signer_path; returns its digest."""
  pem = GenerateSignedPem(io.ReadFile(signer_path), common_name)
  io.WriteFile(path, pem, mode=PEM_FILE_MODE)
  return GetCertificateDigest(pem)


def GetCertificateDigest(pem_or_path: str) -> str:
  """SHA1 digest "AB:CD:..." of the (first) certificate in PEM text or a file."""
  if "-----BEGIN" not in pem_or_path:
    pem_or_path = io.ReadFile(pem_or_path)
  x509_mod, _, serialization, _, _ = _crypto()
  cert = x509_mod.load_pem_x509_certificate(pem_or_path.encode("ascii"))
  return DigestOfDer(cert.public_bytes(serialization.Encoding.DER))


def DigestOfDer(der: bytes) -> str:
  """SHA1 digest "AB:CD:..." of a DER-encoded certificate (as a TLS peer sends it)."""
  return ":".join("%02X" % byte for byte in hashlib.sha1(der).digest())


def WriteSecret(path: str, nbytes: int = 32) -> None:
  """A random hex secret (confd HMAC key, cluster domain secret)."""
  io.WriteFile(path, secrets.token_hex(nbytes) + "\n", mode=0o400 | 0o200)


# Severities of certificate problems (as cluster verify reports them)
CERT_ERROR = "ERROR"
CERT_WARNING = "WARNING"


def VerifyCertificate(path: str, warn_days: int = 30,
                      error_days: int = 7) -> tuple[Optional[str], Optional[str]]:
  """(None, None) for a missing or healthy certificate file, else (severity,
  "While verifying <path>: <problem>")."""
  if not os.path.exists(path):
    return None, None
  try:
    cryptography_x509 = thirdparty.Import("cryptography.x509")
    with open(path, "rb") as handle:
      cert = cryptography_x509.load_pem_x509_certificate(handle.read())
  except Exception as err:  # pylint: disable=broad-except
    return CERT_ERROR, "Failed to load X509 certificate %s: %s" % (path, err)
  not_before = _ValidityBound(cert, "not_valid_before")
  not_after = _ValidityBound(cert, "not_valid_after")
  severity, problem = _CertificateValidity(not_before, not_after, time.time(),
                                           warn_days, error_days)
  if severity is None:
    return None, None
  return severity, "While verifying %s: %s" % (path, problem)


def _ValidityBound(cert: Any, bound: str) -> float:
  """A validity bound of a certificate as a timestamp.  cryptography before 42
  (Debian 12 has 38) only has the naive attribute, in UTC."""
  aware = getattr(cert, bound + "_utc", None)
  if aware is None:
    aware = getattr(cert, bound).replace(tzinfo=datetime.timezone.utc)
  return aware.timestamp()


def _CertificateValidity(not_before: float, not_after: float, now: float, warn_days: int,
                         error_days: int) -> tuple[Optional[str], Optional[str]]:
  def _fmt(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))
  if now > not_after:
    return CERT_ERROR, "Certificate is expired (valid from %s to %s)" % (_fmt(not_before),
                                                                         _fmt(not_after))
  if now < not_before:
    return CERT_WARNING, "Certificate not yet valid (valid from %s)" % _fmt(not_before)
  remaining_days = int((not_after - now) / (24 * 3600))
  message = "Certificate expires in about %d days" % remaining_days
  if remaining_days <= error_days:
    return CERT_ERROR, message
  if remaining_days <= warn_days:
    return CERT_WARNING, message
  return None, None
