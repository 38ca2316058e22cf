#!/usr/bin/env python3
"""Writes testdata/packs: good packs, real Helm chart archives and one broken pack per rule.

The output is committed; run this again only to change the fixtures. Archives are made with
fixed mtimes and owners, so re-running gives the same bytes.
"""
import gzip
import io
import json
import os
import shutil
import struct
import tarfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "packs")


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)


def png(width=2, height=2):
    def chunk(kind, body):
        c = struct.pack(">I", len(body)) + kind + body
        return c + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\x20\x80\xe0" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def chart_files(name, version, app_version, values, templates):
    files = {
        "Chart.yaml": f"apiVersion: v2\nname: {name}\ndescription: The {name} test chart\n"
        f"type: application\nversion: {version}\nappVersion: \"{app_version}\"\n",
        "values.yaml": values,
        ".helmignore": ".git/\n*.swp\n",
    }
    for tname, body in templates.items():
        files[f"templates/{tname}"] = body
    return files


def chart_tgz(name, files):
    """A chart archive laid out as `helm package` makes it: entries under `<name>/`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for rel in sorted(files):
            data = files[rel].encode()
            info = tarfile.TarInfo(f"{name}/{rel}")
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(buf.getvalue())
    return out.getvalue()


WEB = chart_files(
    "web",
    "1.2.0",
    "1.25.3",
    "# Number of web pods.\nreplicaCount: 1\nimage:\n  repository: docker.io/library/nginx\n"
    "  tag: \"1.25.3\"\nservice:\n  port: 80\n",
    {
        "deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}-web\n"
        "spec:\n  replicas: {{ .Values.replicaCount }}\n  selector:\n    matchLabels:\n      app: web\n"
        "  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n"
        "        - name: web\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n",
        "service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-web\n"
        "spec:\n  ports:\n    - port: {{ .Values.service.port }}\n  selector:\n    app: web\n",
    },
)
CACHE = chart_files(
    "cache",
    "0.3.1",
    "7.2",
    "image:\n  repository: docker.io/library/redis\n  tag: \"7.2\"\npersistence:\n  enabled: false\n",
    {
        "statefulset.yaml": "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: {{ .Release.Name }}-cache\n"
        "spec:\n  serviceName: cache\n  selector:\n    matchLabels:\n      app: cache\n  template:\n"
        "    metadata:\n      labels:\n        app: cache\n    spec:\n      containers:\n"
        "        - name: redis\n          image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n",
    },
)
PROBE = chart_files(
    "probe",
    "0.1.0",
    "2.0",
    "interval: 30s\n",
    {"cronjob.yaml": "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: probe\n"},
)

NS_MANIFEST = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: hello\n"
DEPLOY_MANIFEST = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: hello\n  namespace: hello\n"
    "spec:\n  replicas: {{ .spectro.pack.hello-manifests.replicas }}\n  selector:\n    matchLabels:\n"
    "      app: hello\n  template:\n    metadata:\n      labels:\n        app: hello\n    spec:\n"
    "      containers:\n        - name: hello\n          image: docker.io/library/busybox:1.36\n"
)


def manifest_pack():
    return {
        "pack.json": json.dumps(
            {
                "addonType": "system app",
                "cloudTypes": ["all"],
                "displayName": "Hello Manifests",
                "kubeManifests": ["manifests/namespace.yaml", "manifests/deployment.yaml"],
                "layer": "addon",
                "name": "hello-manifests",
                "version": "1.0.0",
                "annotations": {"source": "packreg-testdata"},
                "constraints": {
                    "dependencies": [
                        {"packName": "kubernetes", "layer": "k8s", "minVersion": "1.26.0", "type": "optional"}
                    ],
                    "resources": [
                        {"type": "cpu", "minLimit": 500, "components": [{"scope": "cluster", "names": ["hello"]}]}
                    ],
                },
            },
            indent=2,
        )
        + "\n",
        "values.yaml": "pack:\n  namespace: hello\n  content:\n    images:\n"
        "      - image: docker.io/library/busybox:1.36\n  replicas: 1\n\nmanifests:\n"
        "  deployment:\n    replicas: 1\n",
        "manifests/namespace.yaml": NS_MANIFEST,
        "manifests/deployment.yaml": DEPLOY_MANIFEST,
        "logo.png": png(),
        "README.md": "# Hello Manifests\n\nA manifest-based test pack: a namespace and a deployment.\n",
    }


def helm_pack():
    return {
        "pack.json": json.dumps(
            {
                "addonType": "app services",
                "charts": ["charts/web-1.2.0.tgz", "charts/cache-0.3.1.tgz"],
                "cloudTypes": ["aws", "azure", "vsphere"],
                "displayName": "Shop (web and cache)",
                "layer": "addon",
                "name": "shop",
                "version": "2.1.0+build.7",
                "group": "shop",
                "someFutureField": {"kept": True},
            },
            indent=2,
        )
        + "\n",
        "values.yaml": "pack:\n  namespace: shop\n  content:\n    images:\n"
        "      - image: docker.io/library/nginx:1.25.3\n      - image: docker.io/library/redis:7.2\n"
        "\ncharts:\n  web:\n    # Two web pods by default.\n    replicaCount: 2\n  cache:\n"
        "    persistence:\n      enabled: true\n",
        "charts/web-1.2.0.tgz": chart_tgz("web", WEB),
        "charts/cache-0.3.1.tgz": chart_tgz("cache", CACHE),
        "logo.png": png(3, 1),
        "README.md": "# Shop\n\nA Helm-based test pack with two charts, web and cache.\n",
        "schema.yaml": "charts.web.replicaCount:\n  schema: '{{ required | format \"${number}\" }}'\n",
        "presets.yaml": "presets:\n  - name: large\n    displayName: Large\n    group: size\n"
        "    add: |\n      charts:\n        web:\n          replicaCount: 5\n",
    }


def mixed_pack():
    """A chart archive and an unpacked chart folder side by side, plus an executable hook."""
    files = {
        "pack.json": json.dumps(
            {
                "addonType": "monitoring",
                "charts": ["charts/web-1.2.0.tgz"],
                "cloudTypes": ["all"],
                "displayName": "Probe",
                "layer": "addon",
                "name": "probe",
                "version": "0.1.0",
            },
            indent=2,
        )
        + "\n",
        "values.yaml": "pack:\n  namespace: probe\n  content:\n    images: []\n"
        "charts:\n  web: {}\n  probe:\n    interval: 1m\n",
        "charts/web-1.2.0.tgz": chart_tgz("web", WEB),
        "logo.png": png(),
        "README.md": "# Probe\n\nA chart archive next to an unpacked chart folder.\n",
    }
    for rel, body in PROBE.items():
        files[f"charts/probe/{rel}"] = body
    return files


def ansible_pack():
    return {
        "pack.json": json.dumps(
            {
                "addonType": "",
                "ansibleRoles": ["ansible-roles/harden"],
                "cloudTypes": ["vsphere", "edge-native"],
                "displayName": "Hardened OS",
                "layer": "os",
                "name": "hardened-os",
                "version": "22.4.1",
            },
            indent=2,
        )
        + "\n",
        "values.yaml": "pack:\n  osImageOverride: \"\"\nkubeadmconfig:\n  preKubeadmCommands:\n"
        "    - echo hardened\n",
        "ansible-roles/harden/tasks/main.yml": "- name: Disable root login\n  ansible.builtin.lineinfile:\n"
        "    path: /etc/ssh/sshd_config\n    regexp: '^PermitRootLogin'\n    line: PermitRootLogin no\n",
        "ansible-roles/harden/handlers/main.yml": "- name: restart sshd\n  ansible.builtin.service:\n"
        "    name: sshd\n    state: restarted\n",
        "ansible-roles/harden/files/check.sh": "#!/bin/sh\ngrep -q 'PermitRootLogin no' /etc/ssh/sshd_config\n",
        "logo.png": png(),
        "README.md": "# Hardened OS\n\nAn OS pack that carries an Ansible role.\n",
    }


def emit(name, files, executables=()):
    base = os.path.join(ROOT, name)
    shutil.rmtree(base, ignore_errors=True)
    for rel, data in files.items():
        write(os.path.join(base, rel), data, 0o755 if rel in executables else 0o644)


def edit_json(files, change):
    doc = json.loads(files["pack.json"])
    change(doc)
    files = dict(files)
    files["pack.json"] = json.dumps(doc, indent=2) + "\n"
    return files


def broken():
    good = manifest_pack()
    helm = helm_pack()

    def setter(key, value):
        def change(doc):
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value
        return change

    cases = {
        "pack-json-syntax": dict(good, **{"pack.json": "{\"name\": \"x\",\n"}),
        "no-pack-json": {k: v for k, v in good.items() if k != "pack.json"},
        "empty-name": edit_json(good, setter("name", "")),
        "no-display-name": edit_json(good, setter("displayName", None)),
        "no-version": edit_json(good, setter("version", None)),
        "bad-layer": edit_json(good, setter("layer", "middleware")),
        "no-layer": edit_json(good, setter("layer", None)),
        "bad-cloud-type": edit_json(good, setter("cloudTypes", ["all", "digitalocean"])),
        "leading-v": edit_json(good, setter("version", "v1.0.0")),
        "bad-name": edit_json(good, setter("name", "Hello_Manifests")),
        "bad-tag": edit_json(good, setter("version", "1.0.0 beta")),
        "long-tag": edit_json(good, setter("version", "1." + "0" * 130)),
        "bad-dependency-type": edit_json(
            good, lambda d: d["constraints"]["dependencies"][0].update(type="mandatory")
        ),
        "bad-resource-type": edit_json(good, lambda d: d["constraints"]["resources"][0].update(type="gpu")),
        "wrong-field-type": edit_json(good, setter("cloudTypes", "all")),
        "no-values": {k: v for k, v in good.items() if k != "values.yaml"},
        "values-syntax": dict(good, **{"values.yaml": "pack:\n  namespace: [unclosed\n"}),
        "missing-manifest": {k: v for k, v in good.items() if k != "manifests/deployment.yaml"},
        "manifest-outside": edit_json(good, setter("kubeManifests", ["../outside.yaml"])),
        "missing-chart": {k: v for k, v in helm.items() if k != "charts/cache-0.3.1.tgz"},
        "chart-not-gzip": dict(helm, **{"charts/cache-0.3.1.tgz": b"this is not a gzip stream\n"}),
        "chart-without-chart-yaml": dict(
            helm, **{"charts/cache-0.3.1.tgz": chart_tgz("cache", {"values.yaml": "a: 1\n"})}
        ),
        "wrong-chart-values-key": dict(
            helm, **{"values.yaml": helm["values.yaml"].replace("  web:\n", "  nginx-ingress:\n")}
        ),
    }
    for name, files in cases.items():
        emit(os.path.join("broken", name), files)


def warnings():
    good = manifest_pack()
    cases = {
        "no-logo-no-readme": {k: v for k, v in good.items() if k not in ("logo.png", "README.md")},
        "logo-not-png": dict(good, **{"logo.png": b"GIF89a not a png"}),
        "addon-without-images": dict(good, **{"values.yaml": "pack:\n  namespace: hello\n"}),
    }
    for name, files in cases.items():
        emit(os.path.join("warnings", name), files)


def main():
    emit("hello-manifests", manifest_pack())
    emit("shop", helm_pack())
    emit("probe", mixed_pack())
    emit("hardened-os", ansible_pack(), executables=("ansible-roles/harden/files/check.sh",))
    broken()
    warnings()
    charts = os.path.join(ROOT, "..", "charts")
    shutil.rmtree(charts, ignore_errors=True)
    write(os.path.join(charts, "web-1.2.0.tgz"), chart_tgz("web", WEB))
    for rel, body in CACHE.items():
        write(os.path.join(charts, "cache", rel), body)


if __name__ == "__main__":
    main()
