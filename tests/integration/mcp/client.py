"""A test agent that talks to server.py over pipes: initialize, tools/list, then each tool named
on the command line as a tools/call (the last one Content-Length framed, the others one JSON
object per line, the first split across two writes)."""
import json
import os
import subprocess
import sys

markers, tools = sys.argv[1], sys.argv[2:]
server = subprocess.Popen([sys.executable, "-I", os.path.join(os.path.dirname(__file__), "server.py"), markers],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def send(msg, framed=False, split=False):
    data = json.dumps(msg).encode()
    if framed:
        server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(data) + data)
        server.stdin.flush()
    elif split:
        server.stdin.write(data[:10])
        server.stdin.flush()
        server.stdin.write(data[10:] + b"\n")
        server.stdin.flush()
    else:
        server.stdin.write(data + b"\n")
        server.stdin.flush()
    return json.loads(server.stdout.readline())


print(send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}, split=True)["result"]["serverInfo"]["name"])
print(len(send({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})["result"]["tools"]), "tools")
for i, tool in enumerate(tools):
    answer = send({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
                   "params": {"name": tool, "arguments": {"text": "secret-argument-%d" % i}}},
                  framed=(i == len(tools) - 1))
    print(tool, "error" if "error" in answer else "ok", flush=True)
server.stdin.close()
server.wait()
