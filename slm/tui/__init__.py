"""The Textual face (`slm tui`); like the CLI and the MCP server it uses the `Memory` facade only."""
