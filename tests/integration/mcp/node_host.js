// client.py's twin as a Node MCP host: Node's child_process gives the server its stdio as unix
// socket pairs (each end its own inode), not pipes. initialize, tools/list, then each tool named
// on the command line as a tools/call, the last one Content-Length framed.
'use strict';
const { spawn } = require('child_process');
const path = require('path');

const [markers, ...tools] = process.argv.slice(2);
const server = spawn('/usr/bin/python3', ['-I', path.join(__dirname, 'server.py'), markers],
                     { stdio: ['pipe', 'pipe', 'inherit'] });
let pending = null, buffered = '';
server.stdout.on('data', (chunk) => {
  buffered += chunk;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0 && pending) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    const done = pending;
    pending = null;
    done(JSON.parse(line));
  }
});
server.on('exit', (code, signal) => { if (pending) { const d = pending; pending = null; d({ error: { signal } }); } });

function send(msg, framed) {
  const data = JSON.stringify(msg);
  return new Promise((resolve) => {
    pending = resolve;
    server.stdin.write(framed ? `Content-Length: ${Buffer.byteLength(data)}\r\n\r\n${data}` : data + '\n');
  });
}

(async () => {
  console.log((await send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} })).result.serverInfo.name);
  console.log((await send({ jsonrpc: '2.0', id: 2, method: 'tools/list' })).result.tools.length, 'tools');
  for (let i = 0; i < tools.length; ++i) {
    const answer = await send({ jsonrpc: '2.0', id: 10 + i, method: 'tools/call',
                                params: { name: tools[i], arguments: { text: `secret-argument-${i}` } } },
                              i === tools.length - 1);
    console.log(tools[i], answer.error ? 'error' : 'ok');
  }
  server.stdin.end();
})();
