"""The place of the Textual face, not written yet; like the CLI and the MCP server it is to use the `Memory`
facade only."""
