"""The remote API (RAPI): Ganeti 3.0's REST interface over HTTPS.

The resources are a table (ganeti.rapi.resources); the daemon
(ganeti.server.rapi) serves them, ganeti.rapi.openapi describes them and
ganeti.rapi.client is the Python client.
"""

# A user's rights, as the users file's third column names them
ACCESS_READ = "read"
ACCESS_WRITE = "write"
ALL_ACCESS = frozenset([ACCESS_READ, ACCESS_WRITE])

# HTTP Basic authentication realm; {HA1} passwords are hashed with it
AUTH_REALM = "Ganeti Remote API"
