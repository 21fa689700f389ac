"""Node-side operations, one module per domain (hooks, files, storage, ...).

The node daemon calls these on behalf of the master's RPC calls; nothing here
talks to other nodes.
"""
