#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""TUF interoperability peer built on Debian's python3-securesystemslib (0.26).

python-tuf is not packaged for Debian 12, so the metadata documents are assembled here by
hand, following the TUF 1.0 specification; everything cryptographic is securesystemslib's:
key generation (keys.generate_ecdsa_key / generate_rsa_key / generate_ed25519_key, the last
through python3-nacl), key ids (the keys' own, which cover keyid_hash_algorithms as legacy TUF
repositories do), the canonical JSON encoder (formats.encode_canonical), signing
(signer.SSlibSigner), verification (signer.SSlibKey) and hashes (securesystemslib.hash).

  tuf_sslib.py make OUT        write repositories OUT/<variant>/{metadata,targets} with one
                               set of keys: "good" has ECDSA P-256 and RSA-PSS keys, a root
                               rotation to a 2-of-2 root, consistent snapshots, a top-level
                               target and a terminating delegated role holding a release
                               target; each other variant spoils one signature before the
                               document is hashed (root-old, root-new, timestamp, snapshot,
                               targets, hello) or serves a target with one bit changed (target);
                               OUT/ed25519-<variant> are the same with Ed25519 keys only
  tuf_sslib.py publish REPO KEYS [--spoil ROLE] MANIFEST...
                               a repository for tenderd beneath REPO/tuf with Ed25519 keys
                               (kept in the file KEYS, made on first use): root version 1 once,
                               then each call a new targets, snapshot and timestamp version
                               listing the release manifests REPO/MANIFEST as targets
                               apps/<app>/<version>.json with tender's custom fields; --spoil
                               spoils the new targets', snapshot's or timestamp's signature
  tuf_sslib.py tamper FILE     change the last hex digit of FILE's first signature, so the
                               signature stays well-formed but no longer verifies
  tuf_sslib.py verify DIR      check a repository written by `tender-publish tuf-*` (DIR is
                               its tuf/ directory): key ids, every signature over the
                               canonical bytes, thresholds, the root chain, versions, lengths
                               and hashes of snapshot, targets and target files
"""
import datetime
import json
import os
import sys

from securesystemslib import formats, hash as sslib_hash, keys
from securesystemslib.signer import Signature, SSlibKey, SSlibSigner

SPEC = "1.0.31"
# A repository written by tender-publish stays small; anything bigger is a bug in the test.
MAX_ROOT_VERSIONS = 64


def canonical(obj):
    return formats.encode_canonical(obj).encode("utf-8")


def expires(days):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def hashes(data):
    out = {}
    for algo in ("sha256", "sha512"):
        d = sslib_hash.digest(algo)
        d.update(data)
        out[algo] = d.hexdigest()
    return out


def public(key):
    """The key object as metadata lists it (keyid_hash_algorithms included, as sslib does)."""
    return keys.format_keyval_to_metadata(key["keytype"], key["scheme"], key["keyval"])


def flip(sig):
    """Changes the last hex digit: the signature stays well-formed hex (and DER) but is wrong."""
    return sig[:-1] + ("0" if sig[-1] != "0" else "1")


def sign(signed, signers, bad=None):
    """The metadata document; the signature by key `bad` (if any) is spoiled before anything
    hashes the document, so that the signature is the only thing wrong with it."""
    payload = canonical(signed)
    sigs = []
    for k in signers:
        s = SSlibSigner(k).sign(payload).to_dict()
        if bad is not None and k["keyid"] == bad["keyid"]:
            s["sig"] = flip(s["sig"])
        sigs.append(s)
    return {"signatures": sigs, "signed": signed}


def dump(path, doc):
    data = json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return data


def role(keylist, threshold=1):
    return {"keyids": [k["keyid"] for k in keylist], "threshold": threshold}


# The variants `make` writes: a good repository, and one per spoiled signature or file.
VARIANTS = ("good", "root-old", "root-new", "timestamp", "snapshot", "targets", "hello", "target")


def make(out):
    k = {"root1": keys.generate_ecdsa_key(), "root2": keys.generate_rsa_key(),
         "root3": keys.generate_ecdsa_key(), "ts": keys.generate_rsa_key(),
         "snap": keys.generate_ecdsa_key(), "targ": keys.generate_ecdsa_key(),
         "deleg": keys.generate_rsa_key(bits=2048)}
    ed = {name: keys.generate_ed25519_key() for name in k}
    for variant in VARIANTS:
        build(os.path.join(out, variant), k, variant)
        build(os.path.join(out, "ed25519-" + variant), ed, variant)
    print(f"wrote {', '.join(VARIANTS)} and ed25519-* in {out}")


def write_target(tdir, path, data, entry):
    """The target file under its name and, for consistent snapshots, <hash>.<name>."""
    head, base = os.path.split(path)
    os.makedirs(os.path.join(tdir, head), exist_ok=True)
    for name in [base] + [h + "." + base for h in entry["hashes"].values()]:
        with open(os.path.join(tdir, head, name), "wb") as f:
            f.write(data)


def build(out, k, variant):
    meta = os.path.join(out, "metadata")
    tdir = os.path.join(out, "targets")
    # Which key's signature to spoil in which document.
    bad = {"root-old": ("root", k["root1"]), "root-new": ("root", k["root2"]),
           "timestamp": ("timestamp", k["ts"]), "snapshot": ("snapshot", k["snap"]),
           "targets": ("targets", k["targ"]), "hello": ("hello", k["deleg"])}.get(variant)
    spoil = lambda name: bad[1] if bad and bad[0] == name else None

    def root(version, root_keys, threshold):
        every = root_keys + [k["ts"], k["snap"], k["targ"]]
        return {
            "_type": "root", "spec_version": SPEC, "version": version, "expires": expires(365),
            "consistent_snapshot": True,
            "keys": {key["keyid"]: public(key) for key in every},
            "roles": {"root": role(root_keys, threshold), "timestamp": role([k["ts"]]),
                      "snapshot": role([k["snap"]]), "targets": role([k["targ"]])},
        }

    # Version 2 moves to a 2-of-2 root of an RSA and a new ECDSA key; the old key signs it too.
    dump(os.path.join(meta, "1.root.json"), sign(root(1, [k["root1"]], 1), [k["root1"]]))
    r2 = dump(os.path.join(meta, "2.root.json"),
              sign(root(2, [k["root2"], k["root3"]], 2), [k["root1"], k["root2"], k["root3"]],
                   spoil("root")))
    with open(os.path.join(meta, "root.json"), "wb") as f:
        f.write(r2)

    def target(path, data, custom=None):
        entry = {"length": len(data), "hashes": hashes(data)}
        if custom:
            entry["custom"] = custom
        if variant == "target":
            data = data[:-1] + bytes([data[-1] ^ 1])  # same length, other bytes
        write_target(tdir, path, data, entry)
        return entry

    manifest = json.dumps({"app": "hello", "version": "1.0.0"}).encode() + b"\n"
    hello = {
        "_type": "targets", "spec_version": SPEC, "version": 1, "expires": expires(30),
        "targets": {"apps/hello/1.0.0.json": target(
            "apps/hello/1.0.0.json", manifest,
            # The note makes both sides agree on canonical strings: only " and \ escaped,
            # control characters and non-ASCII (here \u escapes in the file) raw in UTF-8.
            {"app": "hello", "version": "1.0.0", "releaseCounter": 7,
             "note": "Gr\u00fc\u00dfe \"q\" back\\slash\n\ttab \u2713", "\u00e9": 1})},
    }
    hello_bytes = dump(os.path.join(meta, "1.hello.json"),
                       sign(hello, [k["deleg"]], spoil("hello")))

    top = {
        "_type": "targets", "spec_version": SPEC, "version": 1, "expires": expires(30),
        "targets": {"apps/index.txt": target("apps/index.txt", b"hello\n")},
        "delegations": {
            "keys": {k["deleg"]["keyid"]: public(k["deleg"])},
            "roles": [{"name": "hello", "keyids": [k["deleg"]["keyid"]], "threshold": 1,
                       "terminating": True, "paths": ["apps/hello/*"]}],
        },
    }
    top_bytes = dump(os.path.join(meta, "1.targets.json"),
                     sign(top, [k["targ"]], spoil("targets")))

    snapshot = {
        "_type": "snapshot", "spec_version": SPEC, "version": 1, "expires": expires(7),
        "meta": {
            "targets.json": {"version": 1, "length": len(top_bytes), "hashes": hashes(top_bytes)},
            "hello.json": {"version": 1, "length": len(hello_bytes),
                           "hashes": hashes(hello_bytes)},
        },
    }
    snap_bytes = dump(os.path.join(meta, "1.snapshot.json"),
                      sign(snapshot, [k["snap"]], spoil("snapshot")))
    timestamp = {
        "_type": "timestamp", "spec_version": SPEC, "version": 1, "expires": expires(1),
        "meta": {"snapshot.json": {"version": 1, "length": len(snap_bytes),
                                   "hashes": hashes(snap_bytes)}},
    }
    dump(os.path.join(meta, "timestamp.json"), sign(timestamp, [k["ts"]], spoil("timestamp")))


PUBLISH_ROLES = ("root", "ts", "snap", "targ")


def publish_keys(path):
    """The Ed25519 keys of `publish`, private halves included, in one JSON file (mode 0600)."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    k = {name: keys.generate_ed25519_key() for name in PUBLISH_ROLES}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(k, f)
    return k


def publish(repo, keyfile, spoil, manifests):
    k = publish_keys(keyfile)
    meta = os.path.join(repo, "tuf", "metadata")
    tdir = os.path.join(repo, "tuf", "targets")
    bad = {"targets": k["targ"], "snapshot": k["snap"], "timestamp": k["ts"]}
    if spoil is not None and spoil not in bad:
        raise Refused(f"--spoil takes targets, snapshot or timestamp, not {spoil}")
    spoiled = lambda role: bad[role] if role == spoil else None
    if not os.path.exists(os.path.join(meta, "1.root.json")):
        every = [k[name] for name in PUBLISH_ROLES]
        root = {
            "_type": "root", "spec_version": SPEC, "version": 1, "expires": expires(365),
            "consistent_snapshot": True,
            "keys": {key["keyid"]: public(key) for key in every},
            "roles": {"root": role([k["root"]]), "timestamp": role([k["ts"]]),
                      "snapshot": role([k["snap"]]), "targets": role([k["targ"]])},
        }
        data = dump(os.path.join(meta, "1.root.json"), sign(root, [k["root"]]))
        with open(os.path.join(meta, "root.json"), "wb") as f:
            f.write(data)
    version = 1
    if os.path.exists(os.path.join(meta, "timestamp.json")):
        version = load(os.path.join(meta, "timestamp.json"))[1]["signed"]["version"] + 1

    targets = {}
    for rel in manifests:
        data, manifest = load(os.path.join(repo, rel))
        app, release = manifest["app"], manifest["version"]
        path = f"apps/{app}/{release}.json"
        entry = {"length": len(data), "hashes": hashes(data),
                 "custom": {"app": app, "version": release,
                            "releaseCounter": manifest["releaseCounter"]}}
        write_target(tdir, path, data, entry)
        targets[path] = entry
    doc = {"_type": "targets", "spec_version": SPEC, "version": version, "expires": expires(30),
           "targets": targets}
    top = dump(os.path.join(meta, f"{version}.targets.json"),
               sign(doc, [k["targ"]], spoiled("targets")))
    doc = {"_type": "snapshot", "spec_version": SPEC, "version": version, "expires": expires(7),
           "meta": {"targets.json": {"version": version, "length": len(top),
                                     "hashes": hashes(top)}}}
    snap = dump(os.path.join(meta, f"{version}.snapshot.json"),
                sign(doc, [k["snap"]], spoiled("snapshot")))
    doc = {"_type": "timestamp", "spec_version": SPEC, "version": version, "expires": expires(1),
           "meta": {"snapshot.json": {"version": version, "length": len(snap),
                                      "hashes": hashes(snap)}}}
    dump(os.path.join(meta, "timestamp.json"), sign(doc, [k["ts"]], spoiled("timestamp")))
    print(f"published targets, snapshot and timestamp version {version} with "
          f"{len(targets)} target(s), Ed25519 keys{', ' + spoil + ' spoiled' if spoil else ''}")


def tamper(path):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    doc["signatures"][0]["sig"] = flip(doc["signatures"][0]["sig"])
    dump(path, doc)


class Refused(Exception):
    pass


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    return data, json.loads(data)


def check_keyids(keymap, where):
    """Key ids must be what TUF says: sha256 of the key object's canonical JSON."""
    for keyid, obj in keymap.items():
        d = sslib_hash.digest("sha256")
        d.update(canonical(obj))
        if d.hexdigest() != keyid:
            raise Refused(f"{where}: key id {keyid} is not the sha256 of its canonical JSON")


def good_signers(doc, keymap, rolespec, what):
    """Distinct key ids of the role whose signature securesystemslib verifies over its own
    canonical encoding of "signed". tender-publish signs only with keys it lists, so any
    signature by a key of the role that does not verify is refused outright."""
    payload = canonical(doc["signed"])
    good = set()
    for s in doc["signatures"]:
        keyid = s["keyid"]
        if keyid not in rolespec["keyids"] or keyid not in keymap:
            continue
        key = SSlibKey.from_dict(keyid, dict(keymap[keyid]))
        try:
            key.verify_signature(Signature.from_dict(dict(s)), payload)
        except Exception as e:  # sslib raises several kinds; each means "does not verify"
            raise Refused(f"{what}: signature by {keyid} does not verify ({e})") from e
        good.add(keyid)
    return good


def require(doc, keymap, rolespec, what):
    good = good_signers(doc, keymap, rolespec, what)
    if len(good) < rolespec["threshold"]:
        raise Refused(f"{what}: {len(good)} good signatures of {rolespec['threshold']} needed")


def check_file(data, info, what):
    if "length" in info and len(data) != info["length"]:
        raise Refused(f"{what}: {len(data)} bytes, listed as {info['length']}")
    listed = info.get("hashes", {})
    for algo, value in listed.items():
        if hashes(data).get(algo, value) != value:
            raise Refused(f"{what}: {algo} mismatch")


def verify(tuf):
    meta = os.path.join(tuf, "metadata")
    _, root = load(os.path.join(meta, "1.root.json"))
    check_keyids(root["signed"]["keys"], "1.root.json")
    require(root, root["signed"]["keys"], root["signed"]["roles"]["root"], "1.root.json")
    checked = 1
    for version in range(2, MAX_ROOT_VERSIONS):
        path = os.path.join(meta, f"{version}.root.json")
        if not os.path.exists(path):
            break
        _, new = load(path)
        s = new["signed"]
        check_keyids(s["keys"], path)
        if s["version"] != version:
            raise Refused(f"{path}: holds version {s['version']}")
        old = root["signed"]
        require(new, old["keys"], old["roles"]["root"], f"{path} (by the old root keys)")
        require(new, s["keys"], s["roles"]["root"], f"{path} (by its own root keys)")
        root = new
        checked += 1
    trusted = root["signed"]
    prefix = lambda v: f"{v}." if trusted["consistent_snapshot"] else ""

    _, ts = load(os.path.join(meta, "timestamp.json"))
    require(ts, trusted["keys"], trusted["roles"]["timestamp"], "timestamp.json")
    info = ts["signed"]["meta"]["snapshot.json"]
    name = f"{prefix(info['version'])}snapshot.json"
    data, snap = load(os.path.join(meta, name))
    check_file(data, info, name)
    require(snap, trusted["keys"], trusted["roles"]["snapshot"], name)
    if snap["signed"]["version"] != info["version"]:
        raise Refused(f"{name}: version is not timestamp's")

    info = snap["signed"]["meta"]["targets.json"]
    name = f"{prefix(info['version'])}targets.json"
    data, targets = load(os.path.join(meta, name))
    check_file(data, info, name)
    require(targets, trusted["keys"], trusted["roles"]["targets"], name)
    if targets["signed"]["version"] != info["version"]:
        raise Refused(f"{name}: version is not snapshot's")

    n = 0
    for path, entry in targets["signed"]["targets"].items():
        head, base = os.path.split(path)
        if trusted["consistent_snapshot"]:
            base = f"{entry['hashes']['sha256']}.{base}"
        with open(os.path.join(tuf, "targets", head, base), "rb") as f:
            check_file(f.read(), entry, f"target {path}")
        n += 1
    print(f"securesystemslib verified {checked} root version(s), timestamp, snapshot, targets "
          f"and {n} target file(s)")


def main(argv):
    publishing = len(argv) >= 4 and argv[1] == "publish"
    if not publishing and (len(argv) != 3 or argv[1] not in ("make", "tamper", "verify")):
        print(__doc__, file=sys.stderr)
        return 2
    try:
        if publishing:
            rest, spoil = argv[4:], None
            if rest[:1] == ["--spoil"] and len(rest) >= 2:
                spoil, rest = rest[1], rest[2:]
            publish(argv[2], argv[3], spoil, rest)
        else:
            {"make": make, "tamper": tamper, "verify": verify}[argv[1]](argv[2])
    except Refused as e:
        print(f"refused: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
