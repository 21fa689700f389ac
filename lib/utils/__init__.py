"""Small helpers shared by every part of Ganeti, one module per concern."""
