#!/usr/bin/env python3
"""A small docker/OAuth2 token issuer for the integration tests.

It signs RS256 JWTs with a key the test generated (the certificate travels in the x5c header
and is the registry's rootcertbundle), grants each user the actions the test configured, and
answers both the docker token flow (GET with basic auth) and the OAuth2 refresh_token grant
(POST) that identity tokens use. It listens on a free loopback port and writes the port to a
file. Passwords and tokens are never logged.

usage: token_server.py KEY CERT PORT_FILE ISSUER SERVICE USERS_JSON
USERS_JSON: {"alice": {"password": "...", "actions": ["pull", "push"], "refresh_token": "..."}}
"""
import base64
import json
import os
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

KEY_PATH, CERT_PATH, PORT_FILE, ISSUER, SERVICE, USERS_JSON = sys.argv[1:7]
USERS = json.loads(USERS_JSON)
with open(KEY_PATH, "rb") as f:
    KEY = serialization.load_pem_private_key(f.read(), password=None)
with open(CERT_PATH, "rb") as f:
    CERT_DER = x509.load_pem_x509_certificate(f.read()).public_bytes(serialization.Encoding.DER)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(claims):
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(CERT_DER).decode()]}
    head = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = KEY.sign(head.encode(), padding.PKCS1v15(), hashes.SHA256())
    return head + "." + b64url(signature)


def grant(user, scopes):
    allowed = set(USERS[user]["actions"])
    access = []
    for scope in scopes:
        for item in scope.split(" "):
            parts = item.split(":")
            if len(parts) != 3:
                continue
            kind, name, actions = parts
            if kind == "repository":
                granted = [a for a in actions.split(",") if a in allowed]
            elif kind == "registry" and name == "catalog" and "catalog" in allowed:
                granted = ["*"]
            else:
                granted = []
            access.append({"type": kind, "name": name, "actions": granted})
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": user,
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now - 10,
        "iat": now,
        "jti": b64url(os.urandom(12)),
        "access": access,
    }
    return sign(claims)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        # The path only: queries carry scopes, never secrets, but keep the log plain.
        sys.stderr.write("token-server %s %s\n" % (self.command, self.path.split("?")[0]))

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def basic_user(self):
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return None
        entry = USERS.get(user)
        return user if entry and entry["password"] == password else None

    def do_GET(self):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        user = self.basic_user()
        if user is None:
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]})
            return
        token = grant(user, query.get("scope", []))
        self.reply(200, {"token": token, "access_token": token, "expires_in": 300})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        grant_type = form.get("grant_type", [""])[0]
        user = None
        if grant_type == "refresh_token":
            presented = form.get("refresh_token", [""])[0]
            user = next((u for u, e in USERS.items() if e.get("refresh_token") == presented), None)
        elif grant_type == "password":
            name = form.get("username", [""])[0]
            if USERS.get(name, {}).get("password") == form.get("password", [None])[0]:
                user = name
        if user is None:
            self.reply(401, {"error": "invalid_grant"})
            return
        token = grant(user, form.get("scope", []))
        body = {"access_token": token, "expires_in": 300}
        if USERS[user].get("refresh_token"):
            body["refresh_token"] = USERS[user]["refresh_token"]
        self.reply(200, body)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.replace(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
