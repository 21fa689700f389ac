"""The QA cluster: real node VMs that run this project, and the QA suite run on them.

This package runs on the host (outside the installed ganeti package): it
builds a Debian node image, boots three node VMs under TCG inside a network
namespace of their own, installs the checkout into them and runs QA steps
over SSH.  tools/qa-cluster is its command line.
"""
