// An MCP host built on the real TypeScript SDK, driving the reference filesystem server
// (@modelcontextprotocol/server-filesystem) over stdio, as an agent would. Copied by the test
// into the npm cache directory, so that the packages resolve. Arguments: the server's entry
// script, the directory it may serve, then tool calls as NAME or NAME=JSON-ARGUMENTS.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [serverJs, dir, ...calls] = process.argv.slice(2);
const transport = new StdioClientTransport({ command: process.execPath, args: [serverJs, dir], stderr: 'inherit' });
const client = new Client({ name: 'stockade-test-host', version: '1' });
await client.connect(transport);
const { tools } = await client.listTools();
console.log(`offered ${tools.length} tools`);
for (const c of calls) {
  const eq = c.indexOf('=');
  const name = eq < 0 ? c : c.slice(0, eq);
  const args = eq < 0 ? {} : JSON.parse(c.slice(eq + 1));
  try {
    const r = await client.callTool({ name, arguments: args }, undefined, { timeout: 5000 });
    console.log(`${name} ${r.isError ? 'error' : 'ok'}: ${JSON.stringify(r.content).slice(0, 200)}`);
  } catch (e) {
    console.log(`${name} failed: ${e.message}`);
    break;
  }
}
await client.close();
