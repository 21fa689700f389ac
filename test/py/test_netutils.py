"""Tests for netutils: the kernel's TCP tables and address forms."""

import socket
import sys

from ganeti import netutils


def _Word(raw: bytes) -> str:
  """Bytes in network order as the kernel's TCP table writes them here:
  each 32-bit word in this machine's byte order."""
  if sys.byteorder == "little":
    raw = b"".join(raw[start:start + 4][::-1] for start in range(0, len(raw), 4))
  return raw.hex().upper()


def _Line(index: int, local: str, remote: str, state: str, family: int) -> str:
  def Endpoint(text):
    address, port = text.rsplit(":", 1)
    return "%s:%04X" % (_Word(socket.inet_pton(family, address.strip("[]"))), int(port))
  return "%4d: %s %s %s 00000000:00000000 00:00000000 00000000     0        0 1234" % (
    index, Endpoint(local), Endpoint(remote), state)


HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"


def test_established_ipv4_connections_only():
  text = "\n".join([
    HEADER,
    _Line(0, "192.0.2.1:11003", "192.0.2.2:40001", "01", socket.AF_INET),
    _Line(1, "192.0.2.1:11003", "0.0.0.0:0", "0A", socket.AF_INET),  # listening
    _Line(2, "192.0.2.1:40002", "192.0.2.2:11003", "06", socket.AF_INET),  # time-wait
    "   3: not a table line",
  ])
  assert netutils.ParseEstablishedTcp(text, socket.AF_INET) == {
    (("192.0.2.1", 11003), ("192.0.2.2", 40001))}


def test_ipv6_addresses_are_written_as_inet_ntop_does():
  text = "\n".join([HEADER, _Line(0, "[2001:db8::1]:11003", "[2001:db8::2]:40001", "01",
                                  socket.AF_INET6)])
  assert netutils.ParseEstablishedTcp(text, socket.AF_INET6) == {
    (("2001:db8::1", 11003), ("2001:db8::2", 40001))}
  assert netutils.NormalizeAddress("2001:DB8:0:0::1") == "2001:db8::1"
  assert netutils.NormalizeAddress("node1.example.com") == "node1.example.com"


def test_tables_are_read_from_the_given_directory(tmp_path):
  (tmp_path / "tcp").write_text("\n".join([
    HEADER, _Line(0, "127.0.0.1:1811", "127.0.0.1:50000", "01", socket.AF_INET)]) + "\n")
  # no tcp6 table (a kernel without IPv6): the IPv4 one still counts
  assert netutils.EstablishedTcp(str(tmp_path)) == {(("127.0.0.1", 1811), ("127.0.0.1", 50000))}
  assert netutils.EstablishedTcp(str(tmp_path / "missing")) == set()


def test_the_machine_s_own_connection_is_seen():
  """A real connection on the loopback shows in the kernel's own table."""
  with socket.socket() as server:
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    with socket.create_connection(server.getsockname()) as client:
      accepted, _ = server.accept()
      with accepted:
        seen = netutils.EstablishedTcp()
        assert (client.getsockname(), server.getsockname()) in seen
        assert (server.getsockname(), client.getsockname()) in seen
