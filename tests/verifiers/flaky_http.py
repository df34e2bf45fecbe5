#!/usr/bin/env python3
"""A static file server for `caravan pull`'s tests: serves a folder with HTTP range requests
(RFC 9110 §14: `Range: bytes=N-` gets 206 with Content-Range, past the end 416), and can drop
the connection after every so many bytes of a response, or answer every request as S3 answers an
expired presigned link. One JSON line per request goes to the log (path, first byte, bytes sent,
status), which the tests read to count what was transferred.

Usage: flaky_http.py ROOT LOG [--drop-every BYTES] [--expired s3|garage]
Prints `PORT <n>` on stdout once listening on 127.0.0.1.
"""

import argparse
import json
import os
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# What S3 servers answer for a presigned link past its expiry: AWS, and Garage (1.x, measured).
EXPIRED = {
    "s3": (403, b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
           b"<Message>Request has expired</Message></Error>"),
    "garage": (400, b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code>'
               b"<Message>Bad request: Date is too old</Message></Error>"),
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("log")
    parser.add_argument("--drop-every", type=int, default=0)
    parser.add_argument("--expired", choices=sorted(EXPIRED))
    args = parser.parse_args()
    root = os.path.realpath(args.root)
    lock = threading.Lock()
    log = open(args.log, "a", encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def record(self, path, start, sent, status):
            with lock:
                log.write(json.dumps({"path": path, "start": start, "sent": sent, "status": status}) + "\n")
                log.flush()

        def do_GET(self):
            path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
            if args.expired:
                status, body = EXPIRED[args.expired]
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.record(path, 0, 0, status)
                return
            file = os.path.realpath(os.path.join(root, path))
            if not file.startswith(root + os.sep) or not os.path.isfile(file):
                self.send_error(404)
                self.record(path, 0, 0, 404)
                return
            size = os.path.getsize(file)
            start = 0
            ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            if ranged:
                start = int(ranged.group(1))
                if start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.record(path, start, 0, 416)
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            else:
                self.send_response(200)
            self.send_header("Content-Length", str(size - start))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            budget = args.drop_every if args.drop_every > 0 else size
            sent = 0
            with open(file, "rb") as f:
                f.seek(start)
                while sent < size - start:
                    chunk = f.read(min(64 * 1024, budget - sent, size - start - sent))
                    if not chunk:
                        break
                    try:
                        self.wfile.write(chunk)
                    except (BrokenPipeError, ConnectionResetError):
                        break
                    sent += len(chunk)
                    if sent >= budget:
                        break
            self.record(path, start, sent, 206 if ranged else 200)
            self.close_connection = True

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
