"""Address pools of networks (ganeti.network) and the configuration writer's
address reservations, checked against what a real Ganeti 3.0 stores."""

import pytest

from ganeti import config
from ganeti import errors
from ganeti import network
from ganeti import objects


def _Net(subnet="10.9.0.0/28", gateway="10.9.0.1", **kwargs):
  return objects.Network(name="nx1", network=subnet, gateway=gateway, **kwargs)


def test_new_network_as_real_ganeti_stores_it():
  net = _Net()
  pool = network.AddressPool.InitializeNetwork(net)
  pool.Reserve("10.9.0.5", external=True)
  pool.Reserve("10.9.0.6", external=True)
  # as a real cluster wrote it after "gnt-network add --network=10.9.0.0/28
  # --gateway=10.9.0.1 --add-reserved-ips=10.9.0.5,10.9.0.6 nx1"
  assert net.reservations == "0000000000000000"
  assert net.ext_reservations == "1100011000000001"
  assert pool.GetMap() == "XX...XX........X"
  assert (pool.GetFreeCount(), pool.GetReservedCount()) == (11, 5)
  assert pool.GetExternalReservations() == ["10.9.0.0", "10.9.0.1", "10.9.0.5", "10.9.0.6",
                                            "10.9.0.15"]


def test_reserve_release_and_messages():
  net = _Net()
  pool = network.AddressPool.InitializeNetwork(net)
  pool.Reserve("10.9.0.2")
  assert pool.IsReserved("10.9.0.2") and not pool.IsReserved("10.9.0.2", external=True)
  assert pool.GetReservedIps() == ["10.9.0.2"]
  assert net.reservations == "0010000000000000"
  with pytest.raises(errors.AddressPoolError, match="^IP 10.9.0.2 is already reserved$"):
    pool.Reserve("10.9.0.2", external=True)
  with pytest.raises(errors.AddressPoolError,
                     match="^IP 10.9.0.1 is already externally reserved$"):
    pool.Reserve("10.9.0.1")
  with pytest.raises(errors.AddressPoolError,
                     match="^IP 10.9.0.3 is not externally reserved$"):
    pool.Release("10.9.0.3", external=True)
  with pytest.raises(errors.AddressPoolError,
                     match="^10.9.0.0/28 does not contain 10.9.0.99$"):
    pool.Reserve("10.9.0.99")
  assert not pool.Contains("10.9.0.99") and pool.Contains("10.9.0.14")
  pool.Release("10.9.0.2")
  assert net.reservations == "0" * 16
  # a pool made again from the stored strings sees the same state
  again = network.AddressPool(net)
  assert again.GetMap() == pool.GetMap() and again.gateway == pool.gateway


def test_generate_free_until_full():
  net = _Net("192.0.2.0/30", gateway=None)
  pool = network.AddressPool.InitializeNetwork(net)
  assert pool.GetMap() == "X..X"
  assert pool.GenerateFree() == "192.0.2.1"
  assert pool.GenerateFree(skip=frozenset(["192.0.2.1"])) == "192.0.2.2"
  pool.Reserve("192.0.2.1")
  pool.Reserve("192.0.2.2")
  assert pool.IsFull() and pool.GetFreeCount() == 0
  with pytest.raises(errors.AddressPoolError, match="Network is full"):
    pool.GenerateFree()


@pytest.mark.parametrize("subnet,message", [
  ("10.0.0.0/15", "A big network with 131072 host(s) is currently not supported. please"
                  " specify at most a /16 network"),
  ("10.9.1.0/31", "A network with only 2 host(s) is too small, please specify at least a"
                  " /30 network"),
  ("10.9.1.0/32", "A network with only 1 host(s) is too small, please specify at least a"
                  " /30 network"),
])
def test_size_limits(subnet, message):
  with pytest.raises(errors.AddressPoolError) as err:
    network.AddressPool.InitializeNetwork(_Net(subnet, gateway=None))
  assert str(err.value) == message
  assert network.AddressPool.InitializeNetwork(_Net("10.0.0.0/16", gateway=None)) \
    .GetFreeCount() == 65534


def test_gateways_must_lie_in_their_networks():
  with pytest.raises(errors.AddressPoolError, match="10.9.1.0/28 does not contain 10.9.2.1"):
    network.AddressPool.InitializeNetwork(_Net("10.9.1.0/28", gateway="10.9.2.1"))
  with pytest.raises(errors.AddressPoolError, match="does not contain 2001:db9::1"):
    network.AddressPool(_Net(network6="2001:db8::/64", gateway6="2001:db9::1"))
  # link-local IPv6 gateways are fine anywhere
  network.AddressPool(_Net(network6="2001:db8::/64", gateway6="fe80::1"))


@pytest.fixture
def cfg(tmp_path):
  config.InitConfig(str(tmp_path / "config.data"), cluster_name="cluster",
                    master_name="node1", primary_ip="192.0.2.1", master_ip="192.0.2.100",
                    master_netdev="eth0", enabled_hypervisors=["fake"],
                    enabled_disk_templates=["file"], modify_etc_hosts=False)
  writer = config.ConfigWriter(str(tmp_path / "config.data"))
  net = _Net("192.0.2.0/29", gateway="192.0.2.1")
  network.AddressPool.InitializeNetwork(net)
  writer.AddNetwork(net)
  return writer


def test_config_reservations_are_per_job_until_committed(cfg):
  net_uuid = cfg.LookupNetwork("nx1")
  first = cfg.GenerateIp(net_uuid, "job-1")
  assert first == "192.0.2.2"
  # another job neither gets nor may reserve the same address
  assert cfg.GenerateIp(net_uuid, "job-2") == "192.0.2.3"
  with pytest.raises(errors.ReservationError):
    cfg.ReserveIp(net_uuid, first, "job-2")
  with pytest.raises(errors.ReservationError, match="already in use"):
    cfg.ReserveIp(net_uuid, "192.0.2.1", "job-2")
  # nothing reaches the pool before the commit; a dropped job's address is free again
  assert cfg.GetNetwork(net_uuid).reservations == "00000000"
  cfg.DropECReservations("job-2")
  serial = cfg.GetNetwork(net_uuid).serial_no
  cfg.CommitTemporaryIps("job-1")
  net = cfg.GetNetwork(net_uuid)
  assert net.reservations == "00100000" and net.serial_no == serial + 1
  assert cfg.GenerateIp(net_uuid, "job-3") == "192.0.2.3"
  cfg.ReleaseIp(net_uuid, first, "job-3")
  cfg.CommitTemporaryIps("job-3")
  assert cfg.GetNetwork(net_uuid).reservations == "00010000"


def test_ip_of_a_nodes_group(cfg):
  net_uuid = cfg.LookupNetwork("nx1")
  master = cfg.GetMasterNode()
  assert cfg.CheckIPInNodeGroup("192.0.2.4", master) == (None, None)
  group = cfg.GetNodeGroup(cfg.GetNodeInfo(master).group)
  group.networks[net_uuid] = {"mode": "bridged", "link": "br0", "vlan": ""}
  cfg.Update(group)
  assert cfg.CheckIPInNodeGroup("192.0.2.4", master) == ("nx1", net_uuid)
  assert cfg.CheckIPInNodeGroup("198.51.100.4", master) == (None, None)
