"""A fake Anthropic Messages API on loopback, for running the real Claude Code against a script.

usage: fake_anthropic.py SCRIPT PORTFILE LOGFILE

SCRIPT is a JSON file: {"turns": [TURN, ...]} where a TURN is a list of blocks, each
{"text": "..."} or {"tool": "Bash", "input": {...}}. The agent's main loop (a request that offers
the Bash tool) gets turn N, where N is the number of assistant messages already in the
conversation: turn 0 answers the user's prompt, turn 1 answers the first tool results, and so on.
A turn with a tool block ends with stop_reason "tool_use", the others with "end_turn"; past the
last turn the answer is a short text. Side requests (titles, summaries, quota checks: no Bash
tool offered) get a short text. Every answer streams as the real API does when the request asks
for it (message_start, content_block_start/delta/stop, message_delta, message_stop; in chunked transfer
encoding, as the API does), else one JSON message. Each answer has its own token counts (input
1000 + 7 N, output 20 + N for the Nth answer), so a test can tell them apart.

Every request is appended to LOGFILE as a line ">>> METHOD PATH" and its body as received: the
proof of what the agent sent out. Every model answer adds a line "<<< usage IN OUT [TOOL_USE_ID ...]":
the token counts and tool uses it sent. It binds 127.0.0.1 on a free port and writes the port to PORTFILE.
"""
import http.server
import itertools
import json
import os
import sys

SCRIPT = {}
LOG = ""
IDS = itertools.count(1)
ANSWERS = itertools.count(1)


def assistant_turns(messages):
    return sum(1 for m in messages if m.get("role") == "assistant")


def offers_bash(request):
    return any(t.get("name") == "Bash" for t in request.get("tools") or [])


def blocks_for(request):
    """The content blocks that answer this request."""
    if not offers_bash(request):
        return [{"text": "Fake model answer."}]
    turns = SCRIPT.get("turns", [])
    n = assistant_turns(request.get("messages", []))
    return turns[n] if n < len(turns) else [{"text": "Done."}]


def content_of(blocks):
    """Blocks as the API spells them; tool_use blocks get fresh ids."""
    out = []
    for b in blocks:
        if "tool" in b:
            out.append({"type": "tool_use", "id": "toolu_fake%04d" % next(IDS), "name": b["tool"], "input": b["input"]})
        else:
            out.append({"type": "text", "text": b["text"]})
    return out


def sse(event, data):
    return ("event: %s\ndata: %s\n\n" % (event, json.dumps(data))).encode()


def stream_events(model, content, stop_reason, usage):
    """The server-sent events of one streamed message, in the real API's order."""
    message = {"id": "msg_fake%04d" % next(IDS), "type": "message", "role": "assistant", "model": model,
               "content": [], "stop_reason": None, "stop_sequence": None,
               "usage": {"input_tokens": usage["input_tokens"], "cache_read_input_tokens": 0, "output_tokens": 1}}
    yield sse("message_start", {"type": "message_start", "message": message})
    yield sse("ping", {"type": "ping"})
    for index, block in enumerate(content):
        if block["type"] == "text":
            yield sse("content_block_start", {"type": "content_block_start", "index": index,
                                              "content_block": {"type": "text", "text": ""}})
            yield sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "text_delta", "text": block["text"]}})
        else:
            start = dict(block, input={})
            yield sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
            arguments = json.dumps(block["input"])
            half = len(arguments) // 2  # two deltas: the client must join partial JSON
            for part in (arguments[:half], arguments[half:]):
                yield sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                  "delta": {"type": "input_json_delta", "partial_json": part}})
        yield sse("content_block_stop", {"type": "content_block_stop", "index": index})
    yield sse("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                "usage": {"output_tokens": usage["output_tokens"]}})
    yield sse("message_stop", {"type": "message_stop"})


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self, body):
        with open(LOG, "ab") as log:
            log.write(b">>> %s %s\n%s\n" % (self.command.encode(), self.path.encode(), body))

    def answered(self, usage, content):
        ids = [b["id"] for b in content if b["type"] == "tool_use"]
        line = " ".join(["<<< usage", str(usage["input_tokens"]), str(usage["output_tokens"])] + ids)
        with open(LOG, "ab") as log:
            log.write(line.encode() + b"\n")

    def send_json(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.record(b"")
        self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": "fake API"}})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.record(body)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self.send_json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": "json"}})
        path = self.path.split("?")[0]
        if path.endswith("/count_tokens"):
            return self.send_json(200, {"input_tokens": 100})
        if not path.endswith("/v1/messages"):
            return self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": path}})
        content = content_of(blocks_for(request))
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn"
        model = request.get("model", "claude-fake")
        n = next(ANSWERS)
        usage = {"input_tokens": 1000 + 7 * n, "output_tokens": 20 + n}
        self.answered(usage, content)
        if not request.get("stream"):
            return self.send_json(200, {"id": "msg_fake%04d" % next(IDS), "type": "message", "role": "assistant",
                                        "model": model, "content": content, "stop_reason": stop_reason,
                                        "stop_sequence": None, "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for event in stream_events(model, content, stop_reason, usage):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def main():
    global SCRIPT, LOG
    script, portfile, LOG = sys.argv[1:4]
    with open(script) as f:
        SCRIPT = json.load(f)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(portfile + ".tmp", portfile)
    server.serve_forever()


main()
