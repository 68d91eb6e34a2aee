"""The evidence package: a zip of the reports and a manifest (plan, catalogue version, tool
version, spec hash, seed, start/end, SHA-256 of every file), signed with Ed25519.

The signature covers every byte of the zip except its comment, which carries the signature and
the public key at a fixed length; so changing any byte of the package makes verification fail.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MAGIC = b"JZGRSIG1"
SIG_B64 = 88  # base64 of a 64-byte signature
KEY_B64 = 44  # base64 of a 32-byte public key
COMMENT_LEN = len(MAGIC) + SIG_B64 + KEY_B64
FIXED_TIME = (2018, 12, 15, 0, 0, 0)  # the platform's go-live date: reproducible zip entries


class EvidenceError(ValueError):
    """The package does not verify; the message says why."""


class KeyFileError(ValueError):
    """The signing key file cannot be read or created; the message says which and why."""


@dataclass(frozen=True)
class Signer:
    """The key that signs a run's evidence, and whether anyone can sign with it again."""

    key: Ed25519PrivateKey
    path: Path | None  # None: a throwaway key, generated for this run and never saved
    created: bool = False

    @property
    def throwaway(self) -> bool:
        return self.path is None

    @property
    def fingerprint(self) -> str:
        return fingerprint(_raw_public(self.key.public_key()))


def signer(path: Path | None) -> Signer:
    """The PEM Ed25519 key at ``path``, created there (mode 0600) when missing; a throwaway key when
    no path is given. KeyFileError when the file is not such a key or cannot be created."""
    if path is None:
        return Signer(Ed25519PrivateKey.generate(), None)
    if path.exists():
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except OSError as exc:
            raise KeyFileError(f"cannot read {path}: {exc.strerror or exc}") from None
        except TypeError:  # a password-protected key
            raise KeyFileError(f"{path} is encrypted; jzgr signs with an unencrypted PEM Ed25519 key") from None
        except (ValueError, UnsupportedAlgorithm):
            raise KeyFileError(f"{path} is not a PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{path} is a {type(key).__name__.removeprefix('_')}, not an Ed25519 private key")
        return Signer(key, path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:  # created private: readable by its owner only, whatever the umask
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return Signer(key, path, created=True)


def load_or_create_key(path: Path | None) -> Ed25519PrivateKey:
    """Read a PEM Ed25519 private key, or create one (saved, mode 0600, when a path is given)."""
    return signer(path).key


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(public_raw: bytes) -> str:
    return "SHA256:" + hashlib.sha256(public_raw).hexdigest()[:32]


def build(files: dict[str, bytes], manifest: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """Zip ``files`` with ``manifest.json`` (which lists their hashes) and sign the result."""
    manifest = {**manifest, "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [
            ("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1).encode()),
            *sorted(files.items()),
        ]:
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
        zf.comment = b"\0" * COMMENT_LEN
    body = buf.getvalue()[:-COMMENT_LEN]
    signature = key.sign(body)
    comment = MAGIC + base64.b64encode(signature) + base64.b64encode(_raw_public(key.public_key()))
    assert len(comment) == COMMENT_LEN
    return body + comment


@dataclass(frozen=True)
class Verified:
    manifest: dict[str, Any]
    fingerprint: str


def verify(package: bytes, trusted_fingerprint: str | None = None) -> Verified:
    """Check the signature over the whole package, then every file hash in the manifest."""
    if len(package) <= COMMENT_LEN or not package[-COMMENT_LEN:].startswith(MAGIC):
        raise EvidenceError("not a jzgr evidence package (no signature trailer)")
    comment = package[-COMMENT_LEN:]
    try:
        signature = base64.b64decode(comment[len(MAGIC) : len(MAGIC) + SIG_B64], validate=True)
        public_raw = base64.b64decode(comment[len(MAGIC) + SIG_B64 :], validate=True)
        public = Ed25519PublicKey.from_public_bytes(public_raw)
    except ValueError as exc:
        raise EvidenceError(f"malformed signature trailer: {exc}") from None
    try:
        public.verify(signature, package[:-COMMENT_LEN])
    except InvalidSignature:
        raise EvidenceError("signature does not match: the package was changed after signing") from None
    found = fingerprint(public_raw)
    if trusted_fingerprint is not None and found != trusted_fingerprint:
        raise EvidenceError(f"signed by key {found}, not the trusted key {trusted_fingerprint}")
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            names = set(zf.namelist()) - {"manifest.json"}
            listed = manifest.get("files", {})
            if names != set(listed):
                raise EvidenceError(f"files differ from the manifest: {sorted(names ^ set(listed))}")
            for name, digest in listed.items():
                if hashlib.sha256(zf.read(name)).hexdigest() != digest:
                    raise EvidenceError(f"{name} does not match its hash in the manifest")
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        if isinstance(exc, EvidenceError):
            raise
        raise EvidenceError(f"unreadable package: {exc}") from None
    return Verified(manifest, found)
