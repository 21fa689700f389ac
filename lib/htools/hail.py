"""hail: the iallocator plugin (see man hail).

Reads the allocator input document named on the command line and prints
the answer; the master runs it as $(pkglibdir)/iallocators/hail.
"""

import sys
from typing import Optional

from ganeti import serializer
from ganeti.htools import cli
from ganeti.htools import iallocator
from ganeti.htools import textfmt
from ganeti.htools import loader

PROGRAM = "hail"
OPTION_KEYS = cli.COMMON_OPTIONS + ["print_nodes", "save", "dry_run"]


def Main(argv: Optional[list[str]] = None) -> int:
  options, args = cli.ParseOptions(PROGRAM, OPTION_KEYS, sys.argv[1:] if argv is None else argv,
                                   usage="%prog [options...] input-file")
  if len(args) != 1:
    cli.Die("Wrong number of arguments, expected one input file")
  try:
    with open(args[0], encoding="utf-8") as handle:
      data = serializer.LoadJson(handle.read())
  except (OSError, ValueError) as err:
    cli.Die("Cannot read the input file %s: %s" % (args[0], err))
  if options.save:
    textfmt.Save(loader.FromIAllocator(data), options.save)
  answer = iallocator.Answer(data)
  if not options.dry_run:
    sys.stdout.write(serializer.DumpJson(answer) + "\n")
  return 0
