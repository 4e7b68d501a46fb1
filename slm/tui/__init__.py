"""The Textual face (issue 21): it will use the `Memory` facade only, like the CLI and the MCP server."""
