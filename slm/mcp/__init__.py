"""The MCP face: the fastmcp server, its transports and client configuration.

It lives at `slm.mcp`, never as a top-level `mcp` package: fastmcp imports the official SDK as `mcp`, and a
top-level folder of that name would shadow it.
"""
