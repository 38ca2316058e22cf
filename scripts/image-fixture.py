#!/usr/bin/env python3
"""Pushes a two-platform image (an OCI index over two manifests, each with one random layer of
SIZE_MIB/2 MiB) to a loopback registry, streaming the layers from /dev/urandom through a file.
Prints the index digest.

usage: image-fixture.py HOST:PORT REPO TAG SIZE_MIB
"""
import hashlib
import http.client
import json
import os
import sys
import tempfile

HOST, REPO, TAG, SIZE = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
assert HOST.startswith("127.0.0.1:") or HOST.startswith("localhost:"), "loopback only"
conn = http.client.HTTPConnection(HOST)


def request(method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    if resp.status >= 300:
        raise SystemExit(f"{method} {path}: HTTP {resp.status} {data[:200]!r}")
    return resp


def put_blob(path_or_bytes):
    if isinstance(path_or_bytes, bytes):
        digest, size, body = "sha256:" + hashlib.sha256(path_or_bytes).hexdigest(), len(path_or_bytes), path_or_bytes
    else:
        h = hashlib.sha256()
        with open(path_or_bytes, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        digest, size, body = "sha256:" + h.hexdigest(), os.path.getsize(path_or_bytes), open(path_or_bytes, "rb")
    loc = request("POST", f"/v2/{REPO}/blobs/uploads/").getheader("Location")
    if loc.startswith("http"):
        loc = "/" + loc.split("/", 3)[3]
    sep = "&" if "?" in loc else "?"
    request("PUT", f"{loc}{sep}digest={digest}", body, {"Content-Type": "application/octet-stream", "Content-Length": str(size)})
    return digest, size


children = []
with tempfile.TemporaryDirectory() as tmp:
    for arch in ("amd64", "arm64"):
        layer = os.path.join(tmp, arch)
        with open("/dev/urandom", "rb") as src, open(layer, "wb") as dst:
            for _ in range(SIZE // 2):
                dst.write(src.read(1 << 20))
        layer_digest, layer_size = put_blob(layer)
        config = json.dumps({"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        config_digest, config_size = put_blob(config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
        }).encode()
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        request("PUT", f"/v2/{REPO}/manifests/{digest}", manifest, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        children.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": len(manifest),
                         "platform": {"architecture": arch, "os": "linux"}})
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": children}).encode()
request("PUT", f"/v2/{REPO}/manifests/{TAG}", index, {"Content-Type": "application/vnd.oci.image.index.v1+json"})
print("sha256:" + hashlib.sha256(index).hexdigest())
