"""Embedding: the llama.cpp embedder, the default model's conversion to GGUF, the store's choice of model, and the
in-memory vector index searched by recall (docs/ARCHITECTURE.md, "Embedding")."""
