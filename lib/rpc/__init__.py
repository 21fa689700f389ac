"""Remote procedure calls from the master (or any node) to the node daemons.

defs: every call as data; encoding: compressed arguments; transport: HTTPS
requests in parallel over kept-alive connections; client: RpcResult and the
runners offering each call as a method call_<name>.  The node side is
ganeti.server.noded with the handlers of ganeti.backend.
"""
