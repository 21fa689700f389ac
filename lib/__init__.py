"""Ganeti: cluster virtualization manager (a from-scratch Python implementation).

The package is kept import-light: command-line tools import only what they
use, so that whole commands start quickly.
"""
