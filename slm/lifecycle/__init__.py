"""The memory lifecycle: Langevin dynamics on each memory's position, its zones, and the steps that run them over
a store (docs/ARCHITECTURE.md, "The lifecycle")."""
