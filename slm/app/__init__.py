"""The engine: the Memory facade, ingest, embeddings, recall channels and fusion, and the CLI."""
