"""The CPNI masking key: where it comes from, and how it is kept out of everything else.

The key turns subscriber identifiers into tokens (pipelines/privacy/masking.py). It comes
from, in this order:

1. ``TELCOLAKE_CPNI_KEY``: the key itself (at least 32 characters, e.g. ``openssl rand -hex
   32``), set by the deployment from its secret store (an Airflow worker's environment, a
   Kubernetes secret, a systemd credential);
2. ``TELCOLAKE_CPNI_KEY_FILE``: a file holding it (a mounted secret), readable by its owner
   only;
3. ``<data root>/secrets/cpni.key``, generated on first use with mode 0600: the embedded
   main job has no operator-supplied key.

The key is never written anywhere else: not to the repository, dbt's compiled SQL, logs or
the stores (the analyst store carries only its ``key_id``, a fingerprint that tells which
key made a set of tokens without revealing it).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from pipelines.config import Layout

KEY_ENV = "TELCOLAKE_CPNI_KEY"
KEY_FILE_ENV = "TELCOLAKE_CPNI_KEY_FILE"
#: Shorter keys are refused: HMAC-SHA-256 is only as strong as the key's entropy.
MIN_KEY_CHARS = 32
_KEY_ID_MESSAGE = b"telcolake cpni key id"


class CpniKeyError(RuntimeError):
    """The masking key is missing, too short, or kept where others can read it."""


def generated_key_path(layout: Layout) -> Path:
    """Where the main job keeps the key it generated for its data root."""
    return layout.root / "secrets" / "cpni.key"


def cpni_key(layout: Layout) -> bytes:
    """The masking key of this deployment (see the module docstring for the order)."""
    supplied = os.environ.get(KEY_ENV)
    if supplied is not None:
        return _checked(supplied, f"${KEY_ENV}")
    key_file = os.environ.get(KEY_FILE_ENV)
    if key_file is not None:
        return _read_key_file(Path(key_file))
    path = generated_key_path(layout)
    if not path.exists():
        _generate(path)
    return _read_key_file(path)


def key_id(key: bytes) -> str:
    """A fingerprint of ``key`` (8 hex characters): which key made a set of tokens."""
    return hmac.new(key, _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:8]


def _checked(text: str, origin: str) -> bytes:
    key = text.strip()
    if len(key) < MIN_KEY_CHARS:
        # The message names where the key came from, never any part of it.
        raise CpniKeyError(
            f"the CPNI masking key from {origin} has {len(key)} characters; at least "
            f"{MIN_KEY_CHARS} are needed (e.g. `openssl rand -hex 32`)"
        )
    return key.encode("utf-8")


def _read_key_file(path: Path) -> bytes:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CpniKeyError(f"the CPNI key file {path} does not exist") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CpniKeyError(
            f"the CPNI key file {path} is open to other users (mode {stat.S_IMODE(mode):o}); "
            f"make it readable by its owner only: chmod 600 {path}"
        )
    return _checked(path.read_text(encoding="utf-8"), str(path))


def _generate(path: Path) -> None:
    """Write a new random key with mode 0600; a process that loses the race to create it
    reads the winner's key instead of replacing it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
    try:
        # link() fails when the key exists: the first key written is the one kept.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
