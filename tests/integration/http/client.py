"""A tracked HTTP(S) client for the integration tests (Python's http.client calls OpenSSL's
SSL_write_ex, curl calls SSL_write). usage: client.py URL_BASE METHOD PATH [METHOD PATH ...]
Sends each request on one keep-alive connection and prints "METHOD PATH STATUS" per answer.
A body is sent with POST and PUT: an MCP tools/call when the path ends in /mcp.
"""
import http.client
import json
import ssl
import sys
import urllib.parse

base = urllib.parse.urlsplit(sys.argv[1])
if base.scheme == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection(base.hostname, base.port, context=ctx)
else:
    conn = http.client.HTTPConnection(base.hostname, base.port)
args = sys.argv[2:]
for i in range(0, len(args), 2):
    method, path = args[i], args[i + 1]
    body = None
    headers = {}
    if method in ("POST", "PUT"):
        tool = path.rsplit("=", 1)[-1] if "tool=" in path else "echo"
        body = json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                           "params": {"name": tool, "arguments": {"text": "secret-argument"}}})
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    print("%s %s %d" % (method, path, resp.status), flush=True)
