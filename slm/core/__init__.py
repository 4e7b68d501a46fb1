"""The top of the engine: the `Memory` facade, opening and closing a store, and writing (docs/ARCHITECTURE.md)."""
