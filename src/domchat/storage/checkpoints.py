"""Signed checkpoints of the audit chain's head: what anchors the trail outside the database.

A checkpoint says "event `seq` of region `region`'s chain had hash `hash` at `at`", signed with
an Ed25519 key the database never sees. A chain that no longer holds a checkpoint's (seq, hash)
was cut, reset or rewritten after the checkpoint was signed. The signed bytes are the canonical
JSON (sorted keys, no spaces) of `at`, `hash`, `key_id`, `region` and `seq`; `docs/audit.md`
shows how to check one without domchat.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domchat.errors import ConfigError
from domchat.storage.audit import Verdict
from domchat.storage.files import PRIVATE, append_line

LOG_EVENT = "audit.checkpoint"
"""The structlog event name of a checkpoint in domchat's log."""
_SIGNED = ("at", "hash", "key_id", "region", "seq")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    region: str
    key_id: str
    signature: str
    """Base64 of the Ed25519 signature of `message()`."""

    def message(self) -> bytes:
        doc = {f: getattr(self, f) for f in _SIGNED}
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("ascii")

    def doc(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in (*_SIGNED, "signature")}


def key_id(public: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 of the raw public key: names the key in every checkpoint."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key(private_path: Path) -> tuple[Path, str]:
    """A new key pair: the private key to `private_path` (0600, never overwritten), the public one beside it (`.pub`)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_path = private_path.with_name(private_path.name + ".pub")
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        raise ConfigError("--out", f"{private_path} exists: a checkpoint key is never overwritten") from None
    except OSError as e:
        raise ConfigError("--out", f"cannot create {private_path}: {e.strerror}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return public_path, key_id(key.public_key())


def load_private(path: Path, setting: str = "audit.checkpoint_key_file") -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as e:
        raise ConfigError(setting, f"cannot read {path}: {e.strerror}") from None
    except (ValueError, TypeError):
        raise ConfigError(setting, f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(setting, f"{path} is not an Ed25519 key")
    return key


def load_public(path: Path, setting: str = "--public-key") -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as e:
        raise ConfigError(setting, f"cannot read {path}: {e.strerror}") from None
    except ValueError:
        raise ConfigError(setting, f"{path} is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(setting, f"{path} is not an Ed25519 key")
    return key


def sign(key: Ed25519PrivateKey, *, seq: int, hash: str, at: str, region: str) -> Checkpoint:
    unsigned = Checkpoint(seq=seq, hash=hash, at=at, region=region, key_id=key_id(key.public_key()), signature="")
    signature = base64.b64encode(key.sign(unsigned.message())).decode("ascii")
    return Checkpoint(seq=seq, hash=hash, at=at, region=region, key_id=unsigned.key_id, signature=signature)


def signed_by(cp: Checkpoint, public: Ed25519PublicKey) -> bool:
    try:
        public.verify(base64.b64decode(cp.signature, validate=True), cp.message())
    except (InvalidSignature, ValueError):
        return False
    return True


def append(path: Path, cp: Checkpoint) -> None:
    append_line(path, json.dumps(cp.doc(), sort_keys=True, separators=(",", ":")))


def last(path: Path) -> Checkpoint | None:
    """The newest checkpoint in `path` (read from its end: the file grows with every cycle)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            tail = f.read().decode("utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(tail):
        with contextlib.suppress(ValueError):
            doc = _fields(line)
            cp = _from(doc) if doc is not None else None
            if cp is not None:
                return cp
    return None


# Console-format log lines: `… audit.checkpoint  at=… hash=… key_id=… region=… seq=… signature=…`
_PAIR = re.compile(r"(\w+)=(\S+)")


def _fields(line: str) -> Mapping[str, Any] | None:
    """The checkpoint's fields in a line of the checkpoint file or of domchat's log; None for other lines."""
    line = line.strip()
    if not line:
        return None
    if line.startswith("{"):
        try:
            doc = json.loads(line)
        except ValueError:
            raise ValueError("not valid JSON") from None
        if not isinstance(doc, dict) or doc.get("event", LOG_EVENT) != LOG_EVENT:
            return None  # another log line
        return doc
    if LOG_EVENT not in line:
        return None
    return {k: v.strip("'\"") for k, v in _PAIR.findall(line)}


def _from(doc: Mapping[str, Any]) -> Checkpoint | None:
    try:
        return Checkpoint(
            seq=int(doc["seq"]),
            hash=str(doc["hash"]),
            at=str(doc["at"]),
            region=str(doc["region"]),
            key_id=str(doc["key_id"]),
            signature=str(doc["signature"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def read(lines: Iterable[str], source: str) -> list[Checkpoint]:
    """Every checkpoint in a checkpoint file or an exported log; other log lines are skipped, a damaged checkpoint is an error."""
    out = []
    for n, line in enumerate(lines, 1):
        try:
            doc = _fields(line)
        except ValueError as e:
            raise ConfigError("--checkpoints", f"{source} line {n}: {e}") from None
        if doc is None:
            continue
        cp = _from(doc)
        if cp is None:
            raise ConfigError("--checkpoints", f"{source} line {n}: a checkpoint without seq, hash, at, region, key_id or signature")
        out.append(cp)
    return out


def hold(checkpoints: Iterable[Checkpoint], public: Ed25519PublicKey, hashes: Mapping[int, str], events: int) -> Verdict:
    """Does a chain of `events` events, whose hash at each checkpointed seq is in `hashes`, still hold every checkpoint?"""
    wanted = key_id(public)
    for cp in checkpoints:
        if cp.key_id != wanted or not signed_by(cp, public):
            who = "a bad signature" if cp.key_id == wanted else f"the signature of another key ({cp.key_id}, not {wanted})"
            return Verdict(False, events, cp.seq, f"the checkpoint of {cp.at} for event {cp.seq} bears {who}: it is not genuine")
        if cp.seq > events:
            why = (
                f"the chain ends at event {events}, but the checkpoint of {cp.at} vouches for event {cp.seq}:"
                " events removed at the end, or the head reset"
            )
            return Verdict(False, events, events + 1, why)
        if hashes.get(cp.seq) != cp.hash:
            return Verdict(
                False, events, cp.seq, f"event {cp.seq} is not the one the checkpoint of {cp.at} vouches for: the chain was rewritten"
            )
    return Verdict(True, events)
