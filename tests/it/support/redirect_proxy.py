#!/usr/bin/env python3
"""A front for a real registry that sends blob downloads elsewhere, as registries backed by
object storage do: GET /v2/<name>/blobs/<digest> answers 307 to a second server on another
origin (localhost instead of 127.0.0.1), which serves the blob and records whether the
client sent it an Authorization header. Everything else is passed to the registry as is.

usage: redirect_proxy.py REGISTRY_ADDR STORAGE_USER STORAGE_PASSWORD PORT_FILE RECORD_FILE
The storage server fetches blobs from the registry with STORAGE_USER/STORAGE_PASSWORD.
Ports go to PORT_FILE as "front storage".
"""
import base64
import http.client
import os
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REGISTRY, USER, PASSWORD, PORT_FILE, RECORD = sys.argv[1:6]
BLOB = re.compile(r"^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$")
LOCK = threading.Lock()


def forward(handler, method, path, headers, body):
    conn = http.client.HTTPConnection(REGISTRY, timeout=30)
    conn.request(method, path, body=body, headers=headers)
    return conn.getresponse()


class Front(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0") or 0)
        body = self.rfile.read(length) if length else None
        match = BLOB.match(self.path.split("?")[0])
        if self.command == "GET" and match:
            name, digest = match.groups()
            self.send_response(307)
            self.send_header("Location", f"http://localhost:{STORAGE_PORT}/storage/{name}/{digest}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "connection")}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        resp = forward(self, self.command, self.path, headers, body)
        data = resp.read()
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any


class Storage(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        with LOCK, open(RECORD, "a") as f:
            f.write("request authorization=%s\n" % ("yes" if self.headers.get("Authorization") else "no"))
        _, _, name_digest = self.path.partition("/storage/")
        name, _, digest = name_digest.rpartition("/")
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        resp = forward(self, "GET", f"/v2/{name}/blobs/{digest}", {"Authorization": "Basic " + token}, None)
        data = resp.read()
        self.send_response(resp.status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


front = ThreadingHTTPServer(("127.0.0.1", 0), Front)
storage = ThreadingHTTPServer(("127.0.0.1", 0), Storage)
STORAGE_PORT = storage.server_address[1]
threading.Thread(target=storage.serve_forever, daemon=True).start()
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(f"{front.server_address[1]} {STORAGE_PORT}")
os.replace(PORT_FILE + ".tmp", PORT_FILE)
front.serve_forever()
