"""Ganeti: cluster virtualization manager (a from-scratch Python implementation).

The package is kept import-light: command-line tools import only what they
use, so that whole commands start quickly.  The modules a gnt-* command
imports do not import typing at run time either (it alone takes about 45 ms
of a command's start on a slow node): their annotations are postponed
(PEP 563) and their typing names imported under a TYPE_CHECKING that only
type checkers see as true.
"""
