"""The engine: the Memory facade, ingest, the graph, lifecycle, facts, portability, and the CLI."""
