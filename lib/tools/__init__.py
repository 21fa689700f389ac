"""Ganeti's helper programs that are not gnt-* commands (daemon-util, ...)."""
