#!/usr/bin/env python3
"""Fills a registry with PACKS packs of VERSIONS versions each, fast: one config blob and one
layer uploaded once and mounted into every other repository, then per version a small native
pack manifest (with the annotations `packreg ls` reads) and its parent tags, over keep-alive
connections, 8 at a time. Loopback registries only.

usage: scale-fixture.py HOST:PORT PACKS VERSIONS
"""
import hashlib
import http.client
import json
import sys
import threading

HOST, PACKS, VERSIONS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
assert HOST.startswith("127.0.0.1:") or HOST.startswith("localhost:"), "loopback only"
CONFIG = json.dumps({"name": "scale", "version": "1.0.0", "layer": "addon"}).encode()
LAYER = b"pack:\n  content:\n    images: []\n"
CONFIG_MT = "application/vnd.packreg.pack.config.v1+json"
LAYER_MT = "application/vnd.packreg.pack.values.v1+yaml"
MANIFEST_MT = "application/vnd.oci.image.manifest.v1+json"


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def request(conn, method, path, body=None, headers=None):
    # A registry under load may drop a keep-alive connection: try again on a fresh one.
    for attempt in range(5):
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
        except (ConnectionError, http.client.HTTPException):
            conn.close()
            if attempt == 4:
                raise
            continue
        if resp.status >= 500 and attempt < 4:
            continue
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status} {data[:200]!r}")
        return resp


def repo(i):
    return f"spectro-packs/archive/scale-{i:04d}"


def upload(conn, name, blob, resp=None):
    resp = resp or request(conn, "POST", f"/v2/{name}/blobs/uploads/")
    loc = resp.getheader("Location")
    if loc.startswith("http"):
        loc = "/" + loc.split("/", 3)[3]
    sep = "&" if "?" in loc else "?"
    request(conn, "PUT", f"{loc}{sep}digest={digest(blob)}", blob, {"Content-Type": "application/octet-stream"})


def fill(indices):
    conn = http.client.HTTPConnection(HOST)
    for i in indices:
        name = repo(i)
        for blob in (CONFIG, LAYER):
            resp = request(conn, "POST", f"/v2/{name}/blobs/uploads/?mount={digest(blob)}&from={repo(0)}")
            if resp.status == 202:
                # Not mounted: the registry opened an upload session instead; use it.
                upload(conn, name, blob, resp)
        manifests = {}
        for v in range(VERSIONS):
            version = f"1.{v}.0"
            manifest = json.dumps({
                "schemaVersion": 2, "mediaType": MANIFEST_MT,
                "artifactType": "application/vnd.packreg.pack.v1",
                "config": {"mediaType": CONFIG_MT, "digest": digest(CONFIG), "size": len(CONFIG)},
                "layers": [{"mediaType": LAYER_MT, "digest": digest(LAYER), "size": len(LAYER),
                            "annotations": {"org.opencontainers.image.title": "values.yaml"}}],
                "annotations": {"org.opencontainers.image.title": f"scale-{i:04d}",
                                "org.opencontainers.image.version": version,
                                "io.packreg.pack.layer": "addon",
                                "io.packreg.pack.displayName": f"Scale {i}"},
            }, separators=(",", ":")).encode()
            manifests[version] = manifest
            request(conn, "PUT", f"/v2/{name}/manifests/{version}", manifest, {"Content-Type": MANIFEST_MT})
            request(conn, "PUT", f"/v2/{name}/manifests/1.{v}.x", manifest, {"Content-Type": MANIFEST_MT})
        request(conn, "PUT", f"/v2/{name}/manifests/1.x", manifests[f"1.{VERSIONS - 1}.0"], {"Content-Type": MANIFEST_MT})


first = http.client.HTTPConnection(HOST)
for blob in (CONFIG, LAYER):
    upload(first, repo(0), blob)
failures = []


def guarded(indices):
    try:
        fill(indices)
    except BaseException as e:  # noqa: BLE001 - reported below; a thread must not die silently
        failures.append(e)


threads = [threading.Thread(target=guarded, args=(range(k, PACKS, 8),)) for k in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    raise SystemExit(f"scale fixture failed: {failures[0]}")
print(f"{PACKS} packs x {VERSIONS} versions in {HOST}")
