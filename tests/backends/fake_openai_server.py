"""A small OpenAI-compatible chat server for the tests (standard library only), run as a process.

``python fake_openai_server.py [--fail-first N] [--fail-status S] [--delay S] [--reply TEXT]`` binds
127.0.0.1 on a free port and prints the port on its first stdout line. ``POST /v1/chat/completions``
answers ``"echo: " + the last message's content`` (or ``--reply``), cut to ``max_tokens`` words, with
word counts as usage; the first N requests get HTTP ``--fail-status`` (503), each request first sleeps
``--delay`` seconds, and a request without ``messages`` gets a 400. ``GET /stats`` returns the number
of chat requests seen, the most ever in flight at once, and the last request body.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

STATE: dict[str, Any] = {"requests": 0, "in_flight": 0, "max_in_flight": 0, "last": None}
LOCK = threading.Lock()


def make_handler(args: argparse.Namespace) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:  # keep the test output clean
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            with LOCK:
                self._send(200, dict(STATE))

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            with LOCK:
                STATE["requests"] += 1
                number = STATE["requests"]
                STATE["in_flight"] += 1
                STATE["max_in_flight"] = max(STATE["max_in_flight"], STATE["in_flight"])
                STATE["last"] = {"body": body, "authorization": self.headers.get("Authorization")}
            try:
                time.sleep(args.delay)
                status, reply = self._answer(number, body)
            finally:
                # Leave the in-flight count before answering: the client may send its next request
                # the moment it has this answer.
                with LOCK:
                    STATE["in_flight"] -= 1
            self._send(status, reply)

        def _answer(self, number: int, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            if number <= args.fail_first:
                return args.fail_status, {"error": {"message": f"overloaded (request {number})"}}
            messages = body.get("messages")
            if not messages:
                return 400, {"error": {"message": "messages is required"}}
            reply = args.reply if args.reply is not None else "echo: " + messages[-1]["content"]
            words = reply.split(" ")[: int(body.get("max_tokens", 16))]
            prompt_words = sum(len(m["content"].split()) for m in messages)
            return 200, {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": " ".join(words)}}],
                "usage": {"prompt_tokens": prompt_words, "completion_tokens": len(words),
                          "total_tokens": prompt_words + len(words)},
            }

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--reply", default=None)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
