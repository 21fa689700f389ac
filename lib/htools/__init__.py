"""htools: cluster balancing (hbal), allocation (hail), capacity (hspace),
information (hinfo), checks (hcheck) and rolling reboots (hroller).

The cluster model lives in model; loaders turn a text file, a simulation
spec, an iallocator request or the master's LUXI answers into that model;
score rates a placement as Ganeti's htools do; balance and alloc search for
better placements.
"""
