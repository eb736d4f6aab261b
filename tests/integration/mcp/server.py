"""A small MCP server for the tests: JSON-RPC 2.0 over stdio, newline-delimited or
Content-Length framed. Two tools, each leaving a marker file when it runs:
  echo        -> writes MARKER_DIR/echo
  delete_all  -> writes MARKER_DIR/delete_all
"""
import json
import os
import sys

MARKERS = sys.argv[1]
TOOLS = [{"name": "echo", "description": "echo the text", "inputSchema": {"type": "object"}},
         {"name": "delete_all", "description": "delete everything", "inputSchema": {"type": "object"}}]


def reply(msg_id, result=None, error=None):
    body = {"jsonrpc": "2.0", "id": msg_id}
    if error:
        body["error"] = error
    else:
        body["result"] = result
    sys.stdout.write(json.dumps(body) + "\n")
    sys.stdout.flush()


def handle(msg):
    method, msg_id = msg.get("method"), msg.get("id")
    if method == "initialize":
        reply(msg_id, {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                       "serverInfo": {"name": "stockade-test", "version": "1"}})
    elif method == "tools/list":
        reply(msg_id, {"tools": TOOLS})
    elif method == "tools/call":
        name = msg["params"]["name"]
        if name not in ("echo", "delete_all"):
            reply(msg_id, error={"code": -32602, "message": "unknown tool"})
            return
        with open(os.path.join(MARKERS, name), "w") as f:
            f.write(json.dumps(msg["params"].get("arguments")))
        reply(msg_id, {"content": [{"type": "text", "text": "done " + name}]})
    elif msg_id is not None:
        reply(msg_id, error={"code": -32601, "message": "no such method"})


def main():
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return
        if line.startswith(b"Content-Length:"):
            length = int(line.split(b":")[1])
            while stdin.readline() not in (b"\r\n", b"\n", b""):
                pass
            handle(json.loads(stdin.read(length)))
        elif line.strip():
            handle(json.loads(line))


main()
