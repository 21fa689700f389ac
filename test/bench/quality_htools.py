#!/usr/bin/env python3
"""hbal plan quality on small generated clusters: this tree against Debian's
Haskell hbal, seed by seed.

  test/bench/quality_htools.py [--seeds 1-8] [--nodes 9,12,16] [--per-node 7]
                               [--skew 1.5] [--timeout 300]

For each node count and seed a skewed cluster (ganeti.htools.generator,
per-node instances on average) is written to a text file and both hbal
programs balance it with default options.  Printed per cluster: the initial
score (which must be equal), each side's final score and moves, and which
one ends lower; then the counts of wins, ties and losses, and whether ours
reaches Haskell's final score in no more moves.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(TOP, "build"))

from ganeti.htools import generator  # noqa: E402
from ganeti.htools import textfmt  # noqa: E402

OURS = os.path.join(TOP, "build", "sbin", "hbal")
HASKELL = "/usr/bin/hbal"
STEP = re.compile(r"^\s+\d+\. \S+\s+\S+\s+=> \S+\s+([\d.]+) a=", re.M)
# scores printed with 8 decimals: closer than this is a tie
TIE = 1e-8


def _Run(program: str, path: str, timeout: float) -> tuple[float, list[float]]:
  """(initial score, score after each move) of one hbal run."""
  out = subprocess.run([program, "-t", path], capture_output=True, text=True,
                       timeout=timeout).stdout
  initial = float(re.search(r"Initial score: ([\d.]+)", out).group(1))
  return initial, [float(value) for value in STEP.findall(out)]


def _Seeds(text: str) -> list[int]:
  low, _, high = text.partition("-")
  return list(range(int(low), int(high or low) + 1))


def main() -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", default="1-8")
  parser.add_argument("--nodes", default="9,12,16")
  parser.add_argument("--per-node", type=int, default=7)
  parser.add_argument("--skew", type=float, default=1.5)
  parser.add_argument("--timeout", type=float, default=300)
  args = parser.parse_args()
  print("| nodes | instances | seed | initial | Haskell final (moves) | ours final (moves)"
        " | ours reaches Haskell's score after |")
  print("|---|---|---|---|---|---|---|")
  wins = ties = losses = longer = 0
  with tempfile.TemporaryDirectory() as workdir:
    for nodes in [int(count) for count in args.nodes.split(",")]:
      for seed in _Seeds(args.seeds):
        instances = nodes * args.per_node
        path = os.path.join(workdir, "c-%d-%d.txt" % (nodes, seed))
        textfmt.Save(generator.Generate(nodes=nodes, instances=instances, seed=seed,
                                        skew=args.skew), path)
        their_initial, theirs = _Run(HASKELL, path, args.timeout)
        our_initial, ours = _Run(OURS, path, args.timeout)
        assert abs(their_initial - our_initial) < TIE, (nodes, seed, their_initial, our_initial)
        their_final = theirs[-1] if theirs else their_initial
        our_final = ours[-1] if ours else our_initial
        reached = next((pos + 1 for pos, value in enumerate(ours)
                        if value <= their_final + TIE), None)
        if our_final < their_final - TIE:
          wins += 1
        elif our_final > their_final + TIE:
          losses += 1
        else:
          ties += 1
        if reached is not None and reached > len(theirs):
          longer += 1
        print("| %d | %d | %d | %.8f | %.8f (%d) | %.8f (%d) | %s |" % (
          nodes, instances, seed, our_initial, their_final, len(theirs), our_final, len(ours),
          "-" if reached is None else "%d moves" % reached))
        sys.stdout.flush()
  print("\nours lower: %d, equal: %d, Haskell lower: %d; Haskell's score reached in more"
        " moves than Haskell used: %d" % (wins, ties, losses, longer))
  return 0


if __name__ == "__main__":
  sys.exit(main())
