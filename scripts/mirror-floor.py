#!/usr/bin/env python3
"""The registries' own floor for a mirror with nothing to copy: exactly the requests such a
mirror needs (the source's catalog, per repository one tag list on each side, one manifest HEAD
per version tag at the source and per tag at the destination), over keep-alive connections, 8
at a time. Prints the seconds it took. Loopback registries only.

usage: mirror-floor.py SRC_HOST:PORT DST_HOST:PORT
"""
import http.client
import json
import queue
import re
import sys
import threading
import time

SRC, DST = sys.argv[1], sys.argv[2]
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


def get(host, path, method="GET", headers=None):
    c = conn(host)
    c.request(method, path, headers=headers or {})
    resp = c.getresponse()
    return resp, resp.read()


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


start = time.monotonic()
_, body = get(SRC, "/v2/_catalog?n=1000")
repos = [r for r in json.loads(body)["repositories"] if r.startswith("spectro-packs/archive/")]


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
