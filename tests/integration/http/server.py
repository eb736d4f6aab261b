"""A loopback HTTP(S) server for the integration tests: it answers every request with a small
JSON body and appends "METHOD path" to its log, which is the proof of what arrived: a line
"> METHOD path" as soon as a request's head arrived, then "METHOD path" once its body was read.

usage: server.py plain|tls PORTFILE LOGFILE [CERT KEY]
It binds 127.0.0.1 on a free port and writes the port to PORTFILE once it listens.
"""
import http.server
import json
import os
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        with open(LOG, "a") as log:
            log.write("> %s %s\n" % (self.command, self.path))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with open(LOG, "a") as log:
            log.write("%s %s\n" % (self.command, self.path))
        reply = {"ok": True}
        if body.startswith(b"{"):
            try:
                req = json.loads(body)
                reply = {"jsonrpc": "2.0", "id": req.get("id"), "result": {"content": []}}
            except ValueError:
                pass
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


mode, portfile, LOG = sys.argv[1:4]
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if mode == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(portfile + ".tmp", portfile)
server.serve_forever()
