#!/usr/bin/env python3
"""An independent signer and verifier for the three signature formats packreg writes, from
their specifications (sigstore/cosign specs/SIGNATURE_SPEC.md and BUNDLE_SPEC.md with the
protobuf-specs bundle v0.3 and DSSE; notaryproject/specifications' JWS envelope, trust store
and trust policy), on Python `cryptography` and PyNaCl, sharing no code with packreg.

It reads and writes a registry (plain HTTP, OCI distribution: no Referrers API assumed unless
it answers one) or a local OCI layout tree (`oci:ROOT`, one layout per repository).

  signer.py keygen --kind p256|p384|rsa|ed25519 --out DIR [--password PW]
  signer.py cert --key KEY --out DIR [--expired] [--cn NAME]
  signer.py sign --store S --repo R --digest D --format F --key KEY [--cert CHAIN]
                 [--signed-digest D2] [--tamper] [--crit NAME]
  signer.py verify --store S --repo R --digest D --format F (--pub PUB | --ca CA)
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
from cryptography.x509.oid import NameOID

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"
COSIGN_ANNOTATION = "dev.cosignproject.cosign/signature"
BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json"
INTOTO = "application/vnd.in-toto+json"
NOTARY = "application/vnd.cncf.notary.signature"
JOSE = "application/jose+json"
NOTARY_CTY = "application/vnd.cncf.notary.payload.v1+json"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canon(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


# ---- stores -------------------------------------------------------------------------------


class Layout:
    def __init__(self, root, repo):
        self.dir = os.path.join(root, repo)
        os.makedirs(os.path.join(self.dir, "blobs", "sha256"), exist_ok=True)
        if not os.path.exists(os.path.join(self.dir, "oci-layout")):
            with open(os.path.join(self.dir, "oci-layout"), "w") as f:
                f.write('{"imageLayoutVersion":"1.0.0"}')
        if not os.path.exists(os.path.join(self.dir, "index.json")):
            self._write_index({"schemaVersion": 2, "mediaType": INDEX, "manifests": []})

    def _index(self):
        with open(os.path.join(self.dir, "index.json")) as f:
            return json.load(f)

    def _write_index(self, index):
        tmp = os.path.join(self.dir, "index.json.tmp")
        with open(tmp, "wb") as f:
            f.write(canon(index))
        os.replace(tmp, os.path.join(self.dir, "index.json"))

    def _path(self, digest):
        return os.path.join(self.dir, "blobs", "sha256", digest.split(":", 1)[1])

    def put_blob(self, data):
        with open(self._path(sha(data)), "wb") as f:
            f.write(data)
        return sha(data)

    def get_blob(self, digest):
        with open(self._path(digest), "rb") as f:
            return f.read()

    def put_manifest(self, data, media_type, tag=None):
        digest = self.put_blob(data)
        index = self._index()
        desc = {"mediaType": media_type, "digest": digest, "size": len(data)}
        artifact_type = json.loads(data).get("artifactType")
        if artifact_type:
            desc["artifactType"] = artifact_type
        if tag:
            index["manifests"] = [
                d for d in index["manifests"]
                if d.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag
            ]
            desc["annotations"] = {"org.opencontainers.image.ref.name": tag}
        elif any(d["digest"] == digest for d in index["manifests"]):
            return digest
        index["manifests"].append(desc)
        self._write_index(index)
        return digest

    def get_manifest(self, ref):
        if ref.startswith("sha256:"):
            try:
                return self.get_blob(ref)
            except FileNotFoundError:
                return None
        for d in self._index()["manifests"]:
            if d.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref:
                return self.get_blob(d["digest"])
        return None

    def referrers(self, digest):
        return None


class Registry:
    def __init__(self, host, repo):
        self.base = "http://%s/v2/%s" % (host, repo)

    def _req(self, method, url, data=None, headers=None):
        req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def put_blob(self, data):
        digest = sha(data)
        status, headers, _ = self._req("POST", self.base + "/blobs/uploads/")
        assert status == 202, status
        location = headers["Location"]
        if location.startswith("/"):
            location = self.base.split("/v2/")[0] + location
        sep = "&" if "?" in location else "?"
        status, _, body = self._req(
            "PUT", location + sep + "digest=" + digest, data,
            {"Content-Type": "application/octet-stream"},
        )
        assert status == 201, (status, body)
        return digest

    def get_blob(self, digest):
        status, _, body = self._req("GET", self.base + "/blobs/" + digest)
        assert status == 200, status
        return body

    def put_manifest(self, data, media_type, tag=None):
        ref = tag or sha(data)
        status, _, body = self._req("PUT", self.base + "/manifests/" + ref, data, {"Content-Type": media_type})
        assert status == 201, (status, body)
        return sha(data)

    def get_manifest(self, ref):
        status, _, body = self._req(
            "GET", self.base + "/manifests/" + ref, headers={"Accept": MANIFEST + "," + INDEX})
        return body if status == 200 else None

    def referrers(self, digest):
        status, headers, body = self._req(
            "GET", self.base + "/referrers/" + digest, headers={"Accept": INDEX})
        if status == 200 and headers.get("Content-Type", "").startswith(INDEX):
            return json.loads(body)["manifests"]
        return None


def open_store(spec, repo):
    if spec.startswith("oci:"):
        return Layout(spec[4:], repo)
    return Registry(spec, repo)


def fallback_tag(digest):
    return digest.replace(":", "-")


def referrers(store, digest):
    found = store.referrers(digest)
    if found is not None:
        return found
    raw = store.get_manifest(fallback_tag(digest))
    return json.loads(raw)["manifests"] if raw else []


def attach_referrer(store, subject_digest, artifact_type, layer_type, blob, annotations):
    subject_raw = store.get_manifest(subject_digest)
    subject_type = json.loads(subject_raw).get("mediaType", MANIFEST)
    store.put_blob(b"{}")
    layer = store.put_blob(blob)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": EMPTY, "digest": sha(b"{}"), "size": 2},
        "layers": [{"mediaType": layer_type, "digest": layer, "size": len(blob)}],
        "subject": {"mediaType": subject_type, "digest": subject_digest, "size": len(subject_raw)},
        "annotations": annotations,
    }
    data = canon(manifest)
    digest = store.put_manifest(data, MANIFEST)
    if store.referrers(subject_digest) is not None:
        return
    # The referrers tag schema: add to the index, never replace it.
    tag = fallback_tag(subject_digest)
    raw = store.get_manifest(tag)
    index = json.loads(raw) if raw else {"schemaVersion": 2, "mediaType": INDEX, "manifests": []}
    index["manifests"].append({
        "mediaType": MANIFEST, "digest": digest, "size": len(data),
        "artifactType": artifact_type, "annotations": annotations,
    })
    store.put_manifest(canon(index), INDEX, tag)


# ---- keys ---------------------------------------------------------------------------------


def load_private(path, password=None):
    with open(path, "rb") as f:
        data = f.read()
    if b"ENCRYPTED SIGSTORE PRIVATE KEY" in data:
        return decrypt_cosign_key(data, password)
    return serialization.load_pem_private_key(data, None)


def load_public(path):
    with open(path, "rb") as f:
        return serialization.load_pem_public_key(f.read())


def encrypt_cosign_key(key, password):
    """cosign's key file: scrypt(N=32768, r=8, p=1) then NaCl secretbox over the PKCS#8 DER."""
    import nacl.secret
    import nacl.utils
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt = nacl.utils.random(32)
    secret = Scrypt(salt=salt, length=32, n=32768, r=8, p=1).derive(password.encode())
    nonce = nacl.utils.random(24)
    box = nacl.secret.SecretBox(secret)
    ciphertext = box.encrypt(der, nonce).ciphertext
    doc = {
        "kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1}, "salt": b64(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
        "ciphertext": b64(ciphertext),
    }
    body = base64.encodebytes(json.dumps(doc).encode()).decode()
    return ("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n" + body
            + "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n").encode()


def decrypt_cosign_key(data, password):
    import nacl.secret
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
    body = data.split(b"-----")[2]
    doc = json.loads(base64.b64decode(b"".join(body.split())))
    params = doc["kdf"]["params"]
    secret = Scrypt(salt=base64.b64decode(doc["kdf"]["salt"]), length=32, n=params["N"],
                    r=params["r"], p=params["p"]).derive(password.encode())
    der = nacl.secret.SecretBox(secret).decrypt(
        base64.b64decode(doc["ciphertext"]), base64.b64decode(doc["cipher"]["nonce"]))
    return serialization.load_der_private_key(der, None)


def sign_bytes(key, data):
    """cosign/DSSE: ECDSA DER with the curve's hash, RSA PKCS#1 v1.5 SHA-256, Ed25519."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        h = hashes.SHA384() if key.curve.name == "secp384r1" else hashes.SHA256()
        return key.sign(data, ec.ECDSA(h))
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


def verify_bytes(pub, data, sig):
    try:
        if isinstance(pub, ec.EllipticCurvePublicKey):
            h = hashes.SHA384() if pub.curve.name == "secp384r1" else hashes.SHA256()
            pub.verify(sig, data, ec.ECDSA(h))
        elif isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            pub.verify(sig, data)
        return True
    except InvalidSignature:
        return False


def jws_sign(key, data):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        p384 = key.curve.name == "secp384r1"
        der = key.sign(data, ec.ECDSA(hashes.SHA384() if p384 else hashes.SHA256()))
        r, s = utils.decode_dss_signature(der)
        width = 48 if p384 else 32
        return ("ES384" if p384 else "ES256"), r.to_bytes(width, "big") + s.to_bytes(width, "big")
    sig = key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    return "PS256", sig


def jws_verify(pub, alg, data, sig):
    try:
        if alg in ("ES256", "ES384"):
            half = len(sig) // 2
            der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                             int.from_bytes(sig[half:], "big"))
            pub.verify(der, data, ec.ECDSA(hashes.SHA256() if alg == "ES256" else hashes.SHA384()))
        elif alg in ("PS256", "PS384", "PS512"):
            h = {"PS256": hashes.SHA256(), "PS384": hashes.SHA384(), "PS512": hashes.SHA512()}[alg]
            pub.verify(sig, data, padding.PSS(padding.MGF1(h), h.digest_size), h)
        else:
            return False
        return True
    except InvalidSignature:
        return False


# ---- commands -----------------------------------------------------------------------------


def cmd_keygen(args):
    if args.kind == "p256":
        key = ec.generate_private_key(ec.SECP256R1())
    elif args.kind == "p384":
        key = ec.generate_private_key(ec.SECP384R1())
    elif args.kind == "rsa":
        key = rsa.generate_private_key(65537, 2048)
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(os.path.join(args.out, "pub.pem"), "wb") as f:
        f.write(key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))
    if args.password is not None:
        with open(os.path.join(args.out, "cosign.key"), "wb") as f:
            f.write(encrypt_cosign_key(key, args.password))


def cmd_cert(args):
    """A CA (ca.pem) and a code-signing leaf for KEY (chain.pem: leaf, then CA)."""
    key = load_private(args.key)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "packreg test CA " + args.cn)])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=10))
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    end = now - datetime.timedelta(days=1) if args.expired else now + datetime.timedelta(days=365)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "WA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Packreg Test"),
        x509.NameAttribute(NameOID.COMMON_NAME, args.cn),
    ])
    leaf = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=5)).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    os.makedirs(args.out, exist_ok=True)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    with open(os.path.join(args.out, "ca.pem"), "wb") as f:
        f.write(pem(ca))
    with open(os.path.join(args.out, "chain.pem"), "wb") as f:
        f.write(pem(leaf) + pem(ca))


def cmd_sign(args):
    store = open_store(args.store, args.repo)
    key = load_private(args.key, os.environ.get("COSIGN_PASSWORD"))
    signed = args.signed_digest or args.digest
    name = args.store + "/" + args.repo
    if args.format == "cosign":
        payload = canon({
            "critical": {
                "identity": {"docker-reference": name},
                "image": {"docker-manifest-digest": signed},
                "type": "cosign container image signature",
            },
            "optional": None,
        })
        sig = sign_bytes(key, payload)
        if args.tamper:
            payload = payload.replace(b"cosign container", b"cosign Container")
        tag = fallback_tag(args.digest) + ".sig"
        raw = store.get_manifest(tag)
        manifest = json.loads(raw) if raw else None
        layers = manifest["layers"] if manifest else []
        layer = store.put_blob(payload)
        for _ in range(args.count):
            layers.append({"mediaType": SIMPLESIGNING, "digest": layer, "size": len(payload),
                           "annotations": {COSIGN_ANNOTATION: b64(sig)}})
        config = canon({"architecture": "", "config": {}, "created": "0001-01-01T00:00:00Z",
                        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
                        "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}})
        store.put_blob(config)
        manifest = {"schemaVersion": 2, "mediaType": MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": sha(config), "size": len(config)},
                    "layers": layers}
        store.put_manifest(canon(manifest), MANIFEST, tag)
    elif args.format == "bundle":
        statement = canon({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": name, "digest": {"sha256": signed.split(":", 1)[1]}}],
            "predicateType": "https://sigstore.dev/cosign/sign/v1",
            "predicate": {},
        })
        pae = b"DSSEv1 %d %s %d %s" % (len(INTOTO), INTOTO.encode(), len(statement), statement)
        sig = sign_bytes(key, pae)
        if args.tamper:
            statement = statement.replace(b"cosign/sign", b"cosign/siGn")
        bundle = canon({
            "mediaType": BUNDLE,
            "verificationMaterial": {"publicKey": {"hint": ""}, "tlogEntries": []},
            "dsseEnvelope": {"payload": b64(statement), "payloadType": INTOTO,
                             "signatures": [{"sig": b64(sig), "keyid": ""}]},
        })
        attach_referrer(store, args.digest, BUNDLE, BUNDLE, bundle,
                        {"dev.sigstore.bundle.content": "dsse-envelope"})
    else:
        with open(args.cert, "rb") as f:
            chain = x509.load_pem_x509_certificates(f.read())
        subject_raw = store.get_manifest(args.digest)
        target = {"mediaType": json.loads(subject_raw).get("mediaType", MANIFEST),
                  "digest": signed, "size": len(subject_raw)}
        crit = ["io.cncf.notary.signingScheme"] + ([args.crit] if args.crit else [])
        protected = {"alg": None, "crit": crit, "cty": NOTARY_CTY,
                     "io.cncf.notary.signingScheme": "notary.x509",
                     "io.cncf.notary.signingTime": datetime.datetime.now(datetime.timezone.utc)
                     .strftime("%Y-%m-%dT%H:%M:%SZ")}
        if args.crit:
            protected[args.crit] = "x"
        protected["alg"] = "ES384" if (isinstance(key, ec.EllipticCurvePrivateKey)
                                      and key.curve.name == "secp384r1") else (
            "ES256" if isinstance(key, ec.EllipticCurvePrivateKey) else "PS256")
        p64 = b64url(canon(protected))
        payload = canon({"targetArtifact": target})
        pl64 = b64url(payload)
        _, sig = jws_sign(key, (p64 + "." + pl64).encode())
        if args.tamper:
            pl64 = b64url(payload.replace(b'"size"', b'"Size"'))
        envelope = canon({"payload": pl64, "protected": p64,
                          "header": {"x5c": [b64(c.public_bytes(serialization.Encoding.DER))
                                             for c in chain]},
                          "signature": b64url(sig)})
        attach_referrer(store, args.digest, NOTARY, JOSE, envelope, {})


def cmd_verify(args):
    """Exit 0 when one signature of the format verifies for DIGEST, else 1 (reasons on stderr)."""
    store = open_store(args.store, args.repo)
    ok = False
    if args.format == "cosign":
        raw = store.get_manifest(fallback_tag(args.digest) + ".sig")
        pub = load_public(args.pub)
        for layer in json.loads(raw)["layers"] if raw else []:
            payload = store.get_blob(layer["digest"])
            assert sha(payload) == layer["digest"]
            sig = base64.b64decode(layer["annotations"][COSIGN_ANNOTATION])
            if not verify_bytes(pub, payload, sig):
                print("cosign: signature does not verify", file=sys.stderr)
                continue
            claim = json.loads(payload)["critical"]
            if claim["image"]["docker-manifest-digest"] != args.digest:
                print("cosign: signs another digest", file=sys.stderr)
                continue
            ok = True
    else:
        wanted = BUNDLE if args.format == "bundle" else NOTARY
        for desc in referrers(store, args.digest):
            manifest = json.loads(store.get_manifest(desc["digest"]))
            if manifest.get("artifactType") != wanted:
                continue
            assert manifest["subject"]["digest"] == args.digest
            blob = store.get_blob(manifest["layers"][0]["digest"])
            if args.format == "bundle":
                ok |= verify_bundle(blob, args)
            else:
                ok |= verify_notation(blob, args, store)
    sys.exit(0 if ok else 1)


def verify_bundle(blob, args):
    bundle = json.loads(blob)
    assert bundle["mediaType"] == BUNDLE, bundle["mediaType"]
    env = bundle["dsseEnvelope"]
    payload = base64.b64decode(env["payload"])
    pae = b"DSSEv1 %d %s %d %s" % (len(env["payloadType"]), env["payloadType"].encode(),
                                   len(payload), payload)
    pub = load_public(args.pub)
    if not any(verify_bytes(pub, pae, base64.b64decode(s["sig"])) for s in env["signatures"]):
        print("bundle: signature does not verify", file=sys.stderr)
        return False
    statement = json.loads(payload)
    hexes = [s["digest"].get("sha256") for s in statement["subject"]]
    if args.digest.split(":", 1)[1] not in hexes:
        print("bundle: statement names another subject", file=sys.stderr)
        return False
    return True


def verify_notation(blob, args, store):
    env = json.loads(blob)
    protected = json.loads(unb64url(env["protected"]))
    for name in protected["crit"]:
        if name not in ("io.cncf.notary.signingScheme", "io.cncf.notary.expiry"):
            print("notation: unknown critical header " + name, file=sys.stderr)
            return False
    assert protected["cty"] == NOTARY_CTY and protected["io.cncf.notary.signingScheme"] == "notary.x509"
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in env["header"]["x5c"]]
    if not jws_verify(chain[0].public_key(), protected["alg"],
                      (env["protected"] + "." + env["payload"]).encode(),
                      unb64url(env["signature"])):
        print("notation: signature does not verify", file=sys.stderr)
        return False
    with open(args.ca, "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer = chain[-1] if len(chain) > 1 else chain[0]
    if issuer.fingerprint(hashes.SHA256()) != ca.fingerprint(hashes.SHA256()):
        print("notation: chain does not end at the trusted CA", file=sys.stderr)
        return False
    for cert, parent in zip(chain, chain[1:]):
        cert.verify_directly_issued_by(parent)
    for cert in chain:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            print("notation: certificate expired", file=sys.stderr)
            return False
    target = json.loads(unb64url(env["payload"]))["targetArtifact"]
    raw = store.get_manifest(args.digest)
    if target["digest"] != args.digest or target["size"] != len(raw):
        print("notation: signs another artifact", file=sys.stderr)
        return False
    return True


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("keygen")
    p.add_argument("--kind", default="p256")
    p.add_argument("--out", required=True)
    p.add_argument("--password")
    p = sub.add_parser("cert")
    p.add_argument("--key", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--expired", action="store_true")
    p.add_argument("--cn", default="packreg signer")
    for name in ("sign", "verify"):
        p = sub.add_parser(name)
        p.add_argument("--store", required=True)
        p.add_argument("--repo", required=True)
        p.add_argument("--digest", required=True)
        p.add_argument("--format", required=True, choices=["cosign", "bundle", "notation"])
        if name == "sign":
            p.add_argument("--key", required=True)
            p.add_argument("--cert")
            p.add_argument("--signed-digest")
            p.add_argument("--tamper", action="store_true")
            p.add_argument("--crit")
            p.add_argument("--count", type=int, default=1)
        else:
            p.add_argument("--pub")
            p.add_argument("--ca")
    args = parser.parse_args()
    {"keygen": cmd_keygen, "cert": cmd_cert, "sign": cmd_sign, "verify": cmd_verify}[args.cmd](args)


if __name__ == "__main__":
    main()
