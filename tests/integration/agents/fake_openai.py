"""A fake OpenAI Responses API on loopback, for running the real Codex CLI against a script.

usage: fake_openai.py SCRIPT PORTFILE LOGFILE

SCRIPT is a JSON file: {"turns": [TURN, ...]} where a TURN is {"shell": "COMMAND"} (one shell tool
call) or {"text": "..."} (the final answer). A request gets turn N, where N is the number of tool
calls already in its input (Codex sends the whole conversation each time); past the last turn the
answer is a short text. The shell call is spelled for the tool the request offers: `shell`
(command as an argv list), `shell_command` (a string) or `exec_command` (`cmd`). Answers stream as
the real API does: response.created, response.output_item.added/done, response.output_text.delta,
response.completed (with the usage: input 1000 + 7 N, output 20 + N tokens for the Nth answer), in
chunked transfer encoding as the API does.

Every request is appended to LOGFILE as a line ">>> METHOD PATH" and its body as received, every
answer as a line "<<< usage IN OUT [CALL_ID ...]". It binds
127.0.0.1 on a free port and writes the port to PORTFILE.
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
CALL_TYPES = ("function_call", "local_shell_call", "custom_tool_call")


def tool_names(request):
    return {t.get("name") or t.get("type") for t in request.get("tools") or []}


def calls_so_far(request):
    items = request.get("input") or []
    return sum(1 for i in items if isinstance(i, dict) and i.get("type") in CALL_TYPES)


def shell_item(request, command):
    """The output item that asks the offered shell tool to run `command`."""
    call_id = "call_fake%04d" % next(IDS)
    names = tool_names(request)
    if "shell_command" in names:
        name, arguments = "shell_command", {"command": command}
    elif "exec_command" in names:
        name, arguments = "exec_command", {"cmd": command}
    else:
        name, arguments = "shell", {"command": ["bash", "-lc", command]}
    return {"type": "function_call", "id": "fc_fake%04d" % next(IDS), "call_id": call_id, "name": name,
            "arguments": json.dumps(arguments), "status": "completed"}


def message_item(text):
    return {"type": "message", "id": "msg_fake%04d" % next(IDS), "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def answer_items(request):
    turns = SCRIPT.get("turns", [])
    n = calls_so_far(request)
    turn = turns[n] if n < len(turns) else {"text": "Done."}
    return [shell_item(request, turn["shell"])] if "shell" in turn else [message_item(turn["text"])]


def sse(data):
    return ("event: %s\ndata: %s\n\n" % (data["type"], json.dumps(data))).encode()


def stream_events(model, items, usage):
    response = {"id": "resp_fake%04d" % next(IDS), "object": "response", "model": model, "status": "in_progress",
                "output": []}
    yield sse({"type": "response.created", "response": response})
    for index, item in enumerate(items):
        yield sse({"type": "response.output_item.added", "output_index": index, "item": dict(item, status="in_progress")})
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield sse({"type": "response.output_text.delta", "item_id": item["id"], "output_index": index,
                       "content_index": 0, "delta": text})
        yield sse({"type": "response.output_item.done", "output_index": index, "item": item})
    done = dict(response, status="completed", output=items,
                usage={"input_tokens": usage[0], "input_tokens_details": {"cached_tokens": 0}, "output_tokens": usage[1],
                       "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": usage[0] + usage[1]})
    yield sse({"type": "response.completed", "response": done})


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def record(self, body):
        with open(LOG, "ab") as log:
            log.write(b">>> %s %s\n%s\n" % (self.command.encode(), self.path.encode(), body))

    def send_json(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.record(b"")
        if self.path.split("?")[0].endswith("/models"):
            return self.send_json(200, {"object": "list", "data": [], "models": []})
        self.send_json(404, {"error": {"message": "fake API: " + self.path, "type": "not_found"}})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.record(body)
        if not self.path.split("?")[0].endswith("/responses"):
            return self.send_json(404, {"error": {"message": "fake API: " + self.path, "type": "not_found"}})
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self.send_json(400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
        n = next(ANSWERS)
        usage = (1000 + 7 * n, 20 + n)
        items = answer_items(request)
        calls = [i["call_id"] for i in items if i["type"] in CALL_TYPES]
        with open(LOG, "ab") as log:
            log.write(" ".join(["<<< usage", str(usage[0]), str(usage[1])] + calls).encode() + b"\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for event in stream_events(request.get("model", "gpt-fake"), items, usage):
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
