#!/usr/bin/env node
/** A test MCP server over stdio (started by Ensemble from a tools file). */
const { StdioServerTransport } = require('@modelcontextprotocol/sdk/server/stdio.js');
const { createTestMcpServer } = require('./mcp-test-tools');

void createTestMcpServer(process.env.MCP_TEST_NAME || 'stdio-test').connect(new StdioServerTransport());
