"""Certificates and secrets of a cluster (pyOpenSSL, imported only here)."""

import os
import secrets

from ganeti.utils import io
from ganeti.utils import thirdparty

CERT_VALIDITY_DAYS = 5 * 365
RSA_BITS = 2048


def GenerateSelfSignedPem(common_name: str, validity_days: int = CERT_VALIDITY_DAYS) -> str:
  """A private key and a self-signed certificate for it, both PEM, in one text."""
  crypto = thirdparty.Import("OpenSSL.crypto")
  key = crypto.PKey()
  key.generate_key(crypto.TYPE_RSA, RSA_BITS)
  cert = crypto.X509()
  cert.set_version(2)
  cert.set_serial_number(int.from_bytes(os.urandom(8), "big"))
  cert.get_subject().CN = common_name
  cert.set_issuer(cert.get_subject())
  cert.gmtime_adj_notBefore(-3600)
  cert.gmtime_adj_notAfter(validity_days * 86400)
  cert.set_pubkey(key)
  cert.sign(key, "sha256")
  return (crypto.dump_privatekey(crypto.FILETYPE_PEM, key).decode("ascii") +
          crypto.dump_certificate(crypto.FILETYPE_PEM, cert).decode("ascii"))


def WriteSelfSignedPem(path: str, common_name: str) -> None:
  io.WriteFile(path, GenerateSelfSignedPem(common_name), mode=0o400 | 0o200)


def WriteSecret(path: str, nbytes: int = 32) -> None:
  """A random hex secret (confd HMAC key, cluster domain secret)."""
  io.WriteFile(path, secrets.token_hex(nbytes) + "\n", mode=0o400 | 0o200)

