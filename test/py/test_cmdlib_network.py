"""Network logical units run by the real opcode processor on a real
configuration (messages as Debian's Ganeti 3.0 gives them)."""

import pytest

from ganeti import errors
from ganeti import locking
from ganeti import network
from ganeti import objects

from ganeti import mcpu
from ganeti import opcodes

from test_cmdlib_group import _Fails, _Run, env  # noqa: F401  (fixture)
from test_cmdlib_node import Callbacks


def _Net(ctx, name):
  return ctx.cfg.LookupNetworkInfo(name)


def _Add(ctx, name="nx1", **params):
  params.setdefault("network", "10.9.0.0/28")
  return _Run(ctx, "OpNetworkAdd", network_name=name, **params)


def _Refused(ctx, op_class, **params):
  """The OpPrereqError's arguments and the messages logged before it."""
  cbs = Callbacks()
  op = getattr(opcodes, op_class)(**params)
  for name, default, _, _ in op.GetAllParams():
    if not hasattr(op, name):
      setattr(op, name, default() if callable(default) else default)
  with pytest.raises(errors.OpPrereqError) as err:
    mcpu.Processor(ctx, cbs).ExecOpCode(op)
  return err.value.args, cbs.messages


def _Warnings(messages):
  return [message for message in messages if "WARNING" in message]


def test_add_as_real_ganeti_stores_it(env):
  _Add(env, gateway="10.9.0.1", add_reserved_ips=["10.9.0.5", "10.9.0.6"],
       mac_prefix="AA:bb:cc", tags=["t1", "t2"])
  net = _Net(env, "nx1")
  assert (net.network, net.gateway, net.mac_prefix, net.network6, net.gateway6) == (
    "10.9.0.0/28", "10.9.0.1", "aa:bb:cc", None, None)
  assert net.reservations == "0000000000000000"
  assert net.ext_reservations == "1100011000000001"
  assert sorted(net.tags) == ["t1", "t2"] and net.serial_no == 1
  assert net.uuid in env.glm._Set(locking.LEVEL_NETWORK).names()  # pylint: disable=protected-access
  hooks = [(path, phase, env_vars.get("GANETI_NETWORK_SUBNET")) for path, phase, _, env_vars
           in env.hooks]
  assert ("network-add", "pre", "10.9.0.0/28") in hooks


@pytest.mark.parametrize("params,error_class,args", [
  ({"gateway": "10.9.2.1"}, errors.OpExecError,
   ("Cannot create IP address pool for network 'nx2': 10.9.0.0/28 does not contain"
    " 10.9.2.1",)),
  ({"add_reserved_ips": ["10.9.2.5"]}, errors.OpExecError,
   ("Cannot reserve IP address '10.9.2.5': 10.9.0.0/28 does not contain 10.9.2.5",)),
  ({"network": "10.0.0.0/15"}, errors.OpExecError,
   ("Cannot create IP address pool for network 'nx2': A big network with 131072 host(s) is"
    " currently not supported. please specify at most a /16 network",)),
  ({"mac_prefix": "zz:11:22"}, errors.OpPrereqError,
   ("Invalid MAC address prefix 'zz:11:22'", errors.ECODE_INVAL)),
])
def test_add_refusals(env, params, error_class, args):
  assert _Fails(env, error_class, "OpNetworkAdd", network_name="nx2",
                **{"network": "10.9.0.0/28", **params}) == args
  assert _Net(env, "nx2") is None


def test_add_refuses_a_known_name(env):
  _Add(env)
  uuid = _Net(env, "nx1").uuid
  assert _Fails(env, errors.OpPrereqError, "OpNetworkAdd", network_name="nx1",
                network="10.9.1.0/28") == (
    "Desired network name 'nx1' already exists as a network (UUID: %s)" % uuid,
    errors.ECODE_EXISTS)


def test_modify_reservations_gateway_and_prefix(env):
  _Add(env, gateway="10.9.0.1", add_reserved_ips=["10.9.0.5", "10.9.0.6"], mac_prefix="aa:bb:cc")
  _, messages = _Run(env, "OpNetworkSetParams", network_name="nx1",
                     add_reserved_ips=["10.9.0.5", "10.9.0.99", "10.9.0.7"],
                     remove_reserved_ips=["10.9.0.1", "10.9.0.3", "10.9.0.6"])
  assert _Warnings(messages) == [
    " - WARNING: Cannot reserve IP address 10.9.0.5: IP 10.9.0.5 is already externally"
    " reserved",
    " - WARNING: Cannot reserve IP address 10.9.0.99: 10.9.0.0/28 does not contain 10.9.0.99",
    " - WARNING: Cannot unreserve Gateway's IP",
    " - WARNING: Cannot release IP address 10.9.0.3: IP 10.9.0.3 is not externally reserved",
  ]
  assert _Net(env, "nx1").ext_reservations == "1100010100000001"
  _Run(env, "OpNetworkSetParams", network_name="nx1", gateway="10.9.0.2", mac_prefix="none",
       network6="2001:db8::/64", gateway6="fe80::1")
  net = _Net(env, "nx1")
  assert net.ext_reservations == "1010010100000001"
  assert (net.gateway, net.mac_prefix, net.network6, net.gateway6) == (
    "10.9.0.2", None, "2001:db8::/64", "fe80::1")
  # a taken gateway address leaves everything as it was
  with pytest.raises(errors.AddressPoolError, match="IP 10.9.0.5 is already externally"):
    _Run(env, "OpNetworkSetParams", network_name="nx1", gateway="10.9.0.5")
  assert _Net(env, "nx1").gateway == "10.9.0.2"
  assert _Fails(env, errors.OpPrereqError, "OpNetworkSetParams", network_name="nx1") == (
    "Please pass at least one modification", errors.ECODE_INVAL)


def test_connect_disconnect_remove(env):
  _Add(env)
  _Run(env, "OpGroupAdd", group_name="gx1")
  net_uuid = _Net(env, "nx1").uuid
  connect = dict(network_name="nx1", group_name="gx1", network_mode="bridged",
                 network_link="br9")
  _, messages = _Run(env, "OpNetworkConnect", **connect)
  assert _Warnings(messages) == []
  gx1 = env.cfg.LookupNodeGroupInfo("gx1")
  assert gx1.networks == {net_uuid: {"mode": "bridged", "link": "br9", "vlan": ""}}
  assert gx1.serial_no == 2 and _Net(env, "nx1").serial_no == 1
  _, messages = _Run(env, "OpNetworkConnect", **dict(connect, network_link="other"))
  assert _Warnings(messages) == [" - WARNING: Network 'nx1' is already mapped to group 'gx1'"]
  assert env.cfg.LookupNodeGroupInfo("gx1").networks[net_uuid]["link"] == "br9"

  args, messages = _Refused(env, "OpNetworkRemove", network_name="nx1")
  assert args == ("Network still connected", errors.ECODE_STATE)
  assert _Warnings(messages) == [" - WARNING: Network 'nx1' is connected to the following"
                                 " node groups: gx1"]

  _, messages = _Run(env, "OpNetworkDisconnect", network_name="nx1", group_name="default")
  assert _Warnings(messages) == [" - WARNING: Network 'nx1' is not mapped to group 'default'"]
  _Run(env, "OpNetworkDisconnect", network_name="nx1", group_name="gx1")
  assert env.cfg.LookupNodeGroupInfo("gx1").networks == {}
  _Run(env, "OpNetworkRemove", network_name="nx1")
  assert _Net(env, "nx1") is None
  assert _Fails(env, errors.OpPrereqError, "OpNetworkConnect", **connect) == (
    "Network 'nx1' not found", errors.ECODE_NOENT)
  assert _Fails(env, errors.OpPrereqError, "OpNetworkConnect",
                **dict(connect, network_mode="bridged", network_link=""))[1] == \
    errors.ECODE_INVAL


def test_connect_and_disconnect_check_instance_addresses(env):
  _Add(env)
  net_uuid = _Net(env, "nx1").uuid
  master = env.cfg.GetMasterNode()
  nics = [objects.NIC(mac="aa:00:00:00:00:01", ip="192.0.2.50", nicparams={}),
          objects.NIC(mac="aa:00:00:00:00:02", ip="10.9.0.9", nicparams={})]
  env.cfg.AddInstance(objects.Instance(name="inst1", primary_node=master, os="lab",
                                       hypervisor="fake", nics=nics, disks=[]))
  connect = dict(network_name="nx1", group_name="default", network_mode="routed",
                 network_link="rt1")
  args, messages = _Refused(env, "OpNetworkConnect", **connect)
  assert args == ("Conflicting IP addresses found;  Remove/modify the corresponding network"
                  " interfaces", errors.ECODE_STATE)
  assert _Warnings(messages) == [
    " - WARNING: IP addresses from network 'nx1', which is about to connect to node group"
    " 'default', are in use: inst1: nic1/10.9.0.9"]
  _Run(env, "OpNetworkConnect", conflicts_check=False, **connect)
  # a NIC on the network keeps the network connected
  inst = env.cfg.GetInstanceInfoByName("inst1")
  inst.nics[1].network = net_uuid
  env.cfg.Update(inst)
  args, messages = _Refused(env, "OpNetworkDisconnect", network_name="nx1",
                            group_name="default")
  assert args[1] == errors.ECODE_STATE
  assert "about to disconnect from node group 'default', are in use: inst1: nic1/10.9.0.9" \
    in _Warnings(messages)[0]
  assert net_uuid in env.cfg.LookupNodeGroupInfo("default").networks


def test_add_keeps_cluster_addresses_from_instances(env):
  # nodes at 192.0.2.1-3 (primary = secondary), the master IP at 192.0.2.100
  _, messages = _Add(env, network="192.0.2.0/24")
  assert messages[:3] == [
    " - INFO: Reserved IP address of node 'node1' (192.0.2.1)",
    " - WARNING: Cannot reserve IP address '192.0.2.1' of node 'node1': IP 192.0.2.1 is"
    " already externally reserved",
    " - INFO: Reserved IP address of node 'node2' (192.0.2.2)"]
  assert messages[-1] == " - INFO: Reserved cluster master IP address (192.0.2.100)"
  pool = network.AddressPool(_Net(env, "nx1"))
  assert pool.GetExternalReservations() == ["192.0.2.0", "192.0.2.1", "192.0.2.2",
                                            "192.0.2.3", "192.0.2.100", "192.0.2.255"]
  _Add(env, "nx2", network="192.0.2.0/24", conflicts_check=False)
  assert network.AddressPool(_Net(env, "nx2")).GetExternalReservations() == [
    "192.0.2.0", "192.0.2.255"]
