#!/usr/bin/env python3
"""The registries' own floor for a mirror with nothing to copy: exactly the requests such a
mirror needs (the source's catalog, per repository one tag list on each side, one manifest HEAD
per version tag at the source and per tag at the destination), over keep-alive connections, 8
at a time. Prints the seconds it took. Loopback registries only.

With --copy, the floor of a first full mirror into an empty DST instead: the source's catalog
and tag lists, a manifest GET per version and label tag, per blob a GET and a monolithic upload
(POST, PUT) -- or a mount (one POST) where this run already uploaded that digest to another
repository -- and a manifest PUT per tag, parent tags included (each pointing at the highest
version of its line). Repositories 8 at a time, over keep-alive connections.

usage: mirror-floor.py [--copy] SRC_HOST:PORT DST_HOST:PORT
"""
import http.client
import json
import queue
import re
import sys
import threading
import time

COPY = "--copy" in sys.argv[1:]
SRC, DST = [a for a in sys.argv[1:] if a != "--copy"][:2]
for host in (SRC, DST):
    assert host.startswith("127.0.0.1:") or host.startswith("localhost:"), "loopback only"
ACCEPT = {"Accept": "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"}
VERSION = re.compile(r"^[0-9]")
PARENT = re.compile(r"^[0-9]+(\.[0-9]+)?\.x$")
local = threading.local()


def conn(host):
    pool = getattr(local, "pool", None)
    if pool is None:
        pool = local.pool = {}
    if host not in pool:
        pool[host] = http.client.HTTPConnection(host)
    return pool[host]


def get(host, path, method="GET", headers=None, body=None):
    c = conn(host)
    c.request(method, path, body=body, headers=headers or {})
    resp = c.getresponse()
    return resp, resp.read()


def catalog(host):
    """Every repository of the catalog, following its Link pages."""
    repos, path = [], "/v2/_catalog?n=1000"
    while path:
        resp, body = get(host, path)
        repos += json.loads(body).get("repositories") or []
        link = resp.getheader("Link") or ""
        path = link[link.find("<") + 1:link.find(">")] if "<" in link else None
    return repos


def run(jobs):
    q = queue.Queue()
    for job in jobs:
        q.put(job)
    results = []

    def worker():
        while True:
            try:
                job = q.get_nowait()
            except queue.Empty:
                return
            results.append(job())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def version_key(tag):
    return [int(p) if p.isdigit() else -1 for p in re.split(r"[.+_-]", tag)]


def path_of(location):
    return "/" + location.split("/", 3)[3] if location.startswith("http") else location


# Per blob digest: a lock (the first copy uploads, the others wait, then mount) and the
# destination repository holding it.
placed = {}
placed_lock = threading.Lock()


def place_blob(repo, desc):
    digest = desc["digest"]
    with placed_lock:
        slot = placed.setdefault(digest, [threading.Lock(), None])
    with slot[0]:
        if slot[1] == repo:
            return
        if slot[1] is not None:
            resp, _ = get(DST, f"/v2/{repo}/blobs/uploads/?mount={digest}&from={slot[1]}", "POST")
            if resp.status == 201:
                return
            location = resp.getheader("Location")
        else:
            resp, _ = get(DST, f"/v2/{repo}/blobs/uploads/", "POST")
            location = resp.getheader("Location")
        _, blob = get(SRC, f"/v2/{repo}/blobs/{digest}")
        loc = path_of(location)
        sep = "&" if "?" in loc else "?"
        resp, _ = get(DST, f"{loc}{sep}digest={digest}", "PUT", {"Content-Type": "application/octet-stream"}, blob)
        assert resp.status == 201, f"upload of {digest} to {repo}: HTTP {resp.status}"
        slot[1] = slot[1] or repo


def copy_repo(repo):
    resp, body = get(SRC, f"/v2/{repo}/tags/list?n=1000")
    tags = json.loads(body).get("tags") or [] if resp.status == 200 else []
    manifests = {}
    for tag in tags:
        if PARENT.match(tag) or tag.startswith("sha256-"):
            continue
        resp, body = get(SRC, f"/v2/{repo}/manifests/{tag}", headers=ACCEPT)
        manifests[tag] = (resp.getheader("Content-Type"), body)
        doc = json.loads(body)
        for desc in [doc["config"]] + doc.get("layers", []):
            place_blob(repo, desc)
    versions = [t for t in manifests if VERSION.match(t)]
    for tag in tags:
        if PARENT.match(tag):
            line = tag[:-1]
            best = max((v for v in versions if v.startswith(line)), key=version_key, default=None)
            if best is None:
                continue
            media_type, body = manifests[best]
        elif tag in manifests:
            media_type, body = manifests[tag]
        else:
            continue
        resp, _ = get(DST, f"/v2/{repo}/manifests/{tag}", "PUT", {"Content-Type": media_type}, body)
        assert resp.status == 201, f"manifest {repo}:{tag}: HTTP {resp.status}"


start = time.monotonic()
repos = [r for r in catalog(SRC) if r.startswith("spectro-packs/archive/")]
if COPY:
    failures = []

    def guarded(repo):
        try:
            copy_repo(repo)
        except Exception as e:  # noqa: BLE001 - reported below; a worker must not die silently
            failures.append(f"{repo}: {e!r}")

    run([lambda r=r: guarded(r) for r in repos])
    if failures:
        raise SystemExit(f"mirror floor failed: {failures[0]}")
    print(f"{time.monotonic() - start:.3f}")
    sys.exit(0)


def tags(host, repo):
    resp, body = get(host, f"/v2/{repo}/tags/list?n=1000")
    return (host, repo, json.loads(body).get("tags") or [] if resp.status == 200 else [])


listed = run([lambda h=h, r=r: tags(h, r) for r in repos for h in (SRC, DST)])
heads = []
for host, repo, tag_list in listed:
    for tag in tag_list:
        if host == SRC and (not VERSION.match(tag) or PARENT.match(tag)):
            continue
        heads.append(lambda h=host, r=repo, t=tag: get(h, f"/v2/{r}/manifests/{t}", "HEAD", ACCEPT))
run(heads)
print(f"{time.monotonic() - start:.3f}")
