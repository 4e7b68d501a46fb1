"""The command-line face: the typer app, its output rendering, `slm doctor` and the demo (docs/ARCHITECTURE.md)."""
