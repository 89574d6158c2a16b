"""The issuer's Ed25519 signing keys: the keys whose Data Integrity proofs say who issued a credential.

They live beside the Ethereum keystores (``ANCHOR_HOME/keys/<name>.json``), in a folder of their own that
is, like ``keys/``, private to its owner (0700, files 0600)::

    ANCHOR_HOME/keys/did/keyring.json   the issuer's DID and each key's public record (nothing secret)
    ANCHOR_HOME/keys/did/<name>.pem     each private key, encrypted (PKCS#8, scrypt, AES-256-CBC)

A private key is never printed or logged. Its password comes from ``ANCHOR_KEY_PASSWORD``,
``ANCHOR_KEY_PASSWORD_FILE`` or a prompt (the CLI reads it with :func:`anchor.chain.keys.read_password`),
never from the config file. A key file that other users may read is refused, as is a keyring that other users
may write (they could list a key of theirs in the DID document).

**Encryption.** cryptography's ``BestAvailableEncryption`` writes PKCS#8 with PBKDF2 at 2,048 iterations,
which a GPU tries a password against billions of times a day. anchor writes the standard PKCS#8
``EncryptedPrivateKeyInfo`` with PBES2 and scrypt instead (RFC 8018, RFC 7914 section 7) at N=2^14, r=8,
p=8: OWASP's minimum for scrypt is N=2^17, r=8, p=1 or, at the same cost with 16 MiB, N=2^14, r=8, p=5;
OpenSSL refuses more than 32 MiB (N=2^15 and up) in PKCS#8, so the cost goes into p. ``openssl pkey`` and
cryptography read the file; anchor reads it back before keeping it.

**Keys and rotation.** Each key has a name (the fragment of its verification method for did:web:
``did:web:example.edu#key-2``), a creation time and one of three states:

- *current*: signs new credentials (``signing_key`` in the configuration may choose another listed key);
- *listed*: rotated out (``anchor did rotate``), still in the DID document so that what it signed verifies;
- *retired*: taken out of the DID document (``anchor did retire``, asked for explicitly): what it signed no
  longer verifies once the new document is published. Its record and encrypted file are kept; a name is never
  used twice, so a verification method id always means one key.

A did:key DID is its one key, derived from it (demos, local use): it has no rotation, as a new key is a new DID
that the registry would have to record as another issuer identifier.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import padding, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from anchor.config import Settings
from anchor.credentials import multikey
from anchor.did_syntax import DID_KEY_PREFIX, check_issuer_did, check_key_name, is_did_web
from anchor.errors import InvalidInputError, InvariantError, SigningKeyError
from anchor.files import private_directory, write_private_text
from anchor.issuing import dids

__all__ = [
    "DEFAULT_COST",
    "IssuerKey",
    "IssuerKeys",
    "IssuerSigner",
    "Keyring",
    "ScryptCost",
    "configured_issuer_did",
    "configured_keyring",
    "issuer_keys",
    "issuer_public_keys",
    "load_issuer_signer",
]

KEYRING_FORMAT: Final = "anchor-issuer-keys-v1"
#: The folder under ``ANCHOR_HOME/keys`` and the keyring file in it.
KEYRING_FOLDER: Final = "did"
KEYRING_FILE: Final = "keyring.json"
FIRST_KEY_NAME: Final = "key-1"
_KEY_FILE_SUFFIX: Final = ".pem"
_PEM_LABEL: Final = "ENCRYPTED PRIVATE KEY"
_MAX_KEY_FILE: Final = 64 * 1024
_MAX_KEYRING_FILE: Final = 4 * 1024 * 1024
#: Mode bits refused: a private key readable (or writable) by group or others, a keyring writable by them.
_KEY_FILE_FORBIDDEN: Final = 0o077
_KEYRING_FORBIDDEN: Final = 0o022

# PKCS#8 EncryptedPrivateKeyInfo with PBES2 (RFC 8018), scrypt (RFC 7914 section 7) and AES-256-CBC.
_OID_PBES2: Final = "1.2.840.113549.1.5.13"
_OID_SCRYPT: Final = "1.3.6.1.4.1.11591.4.11"
_OID_AES_256_CBC: Final = "2.16.840.1.101.3.4.1.42"


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's work factors: ``n`` (a power of two > 1), block size ``r``, parallelism ``p``."""

    n: int
    r: int
    p: int


#: See the module doc; tests pass a tiny cost instead.
DEFAULT_COST: Final = ScryptCost(n=2**14, r=8, p=8)


@dataclass(frozen=True)
class IssuerKey:
    """A signing key's public record: name, raw 32-byte public key, creation time, and when it left service.

    ``replaced``: when another key became current (None while it is the current one, or never was replaced);
    ``retired``: when it was taken out of the DID document (None while listed).
    """

    name: str
    public_key: bytes
    created: datetime
    replaced: datetime | None = None
    retired: datetime | None = None

    @property
    def public_key_multibase(self) -> str:
        """The public key as a Multikey ``publicKeyMultibase`` (``z6Mk...``)."""
        return multikey.public_key_multibase(self.public_key)

    @property
    def listed(self) -> bool:
        """Whether the key is in the DID document (not retired)."""
        return self.retired is None

    def verification_method(self, did: str) -> str:
        """The key's verification method id under ``did`` (``did:web:...#name``, ``did:key:z..#z..``)."""
        return dids.verification_method_id(did, self.name, self.public_key_multibase)


@dataclass(frozen=True)
class Keyring:
    """The issuer's DID, which key is current, and every key it ever had (retired ones too), oldest first."""

    did: str
    current: str
    keys: tuple[IssuerKey, ...]

    def key(self, name: str) -> IssuerKey:
        """The key named ``name``; SigningKeyError naming the keys there are."""
        for key in self.keys:
            if key.name == name:
                return key
        raise SigningKeyError(
            f"the issuer has no key named {name!r}; its keys: {', '.join(k.name for k in self.keys)} "
            "(see `anchor did show`)"
        )

    @property
    def listed(self) -> tuple[IssuerKey, ...]:
        """The keys in the DID document: every key not retired."""
        return tuple(key for key in self.keys if key.listed)

    def state(self, key: IssuerKey) -> str:
        """``current``, ``listed`` or ``retired``."""
        if key.name == self.current:
            return "current"
        return "listed" if key.listed else "retired"

    def document(self) -> dict[str, Any]:
        """The DID document (:func:`anchor.issuing.dids.did_document`) listing every key not retired."""
        return dids.did_document(
            self.did, [(key.verification_method(self.did), key.public_key_multibase) for key in self.listed]
        )

    def public_keys(self) -> dict[str, bytes]:
        """Verification method id -> raw public key, for every listed key."""
        return {key.verification_method(self.did): key.public_key for key in self.listed}


@dataclass(frozen=True)
class IssuerSigner:
    """What signs a credential: the issuer's DID, the key's verification method id, and the private key.

    The key is left out of ``repr`` (a signer in a log line or a traceback shows no secret).
    """

    did: str
    verification_method: str
    private_key: Ed25519PrivateKey = field(repr=False)
    key_name: str = ""


class IssuerKeys:
    """The issuer's keyring in one folder (``ANCHOR_HOME/keys/did``): create, rotate, retire, unlock."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def keyring_path(self) -> Path:
        """The keyring file."""
        return self.folder / KEYRING_FILE

    def key_path(self, name: str) -> Path:
        """The encrypted private key file of key ``name``."""
        return self.folder / f"{check_key_name(name)}{_KEY_FILE_SUFFIX}"

    def exists(self) -> bool:
        """Whether there is a keyring here."""
        return self.keyring_path.exists()

    def load(self) -> Keyring:
        """The keyring; SigningKeyError if missing, unreadable, writable by others or inconsistent."""
        if not self.exists():
            raise SigningKeyError(
                f"no issuer signing key in {self.folder}: create one with "
                "`anchor did key create --did did:web:YOUR.DOMAIN` (or --did-key for local use)"
            )
        data = _read_checked(self.keyring_path, _KEYRING_FORBIDDEN, _MAX_KEYRING_FILE, "keyring")
        try:
            document = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise SigningKeyError(f"{self.keyring_path} is not a readable keyring: {error}") from error
        return _parse_keyring(document, self.keyring_path)

    def create(
        self,
        did: str | None,
        password: str,
        *,
        name: str = FIRST_KEY_NAME,
        cost: ScryptCost | None = None,
        now: datetime | None = None,
    ) -> Keyring:
        """Start the keyring with a first key ``name`` for ``did`` (a did:web DID), or for its did:key if None."""
        if did is not None:
            did = check_issuer_did(did)
            if not is_did_web(did):
                raise InvalidInputError(
                    f"DID {did!r}: a did:key DID is derived from a new key, not given; create it with --did-key"
                )
        if self.exists():
            existing = self.load()
            raise InvalidInputError(
                f"the issuer has keys already ({existing.did}, in {self.keyring_path}): "
                "`anchor did rotate` adds a new key, `anchor did show` lists them"
            )
        _, record = self._new_key(name, password, cost, now)
        keyring = Keyring(did or multikey.did_key(record.public_key), name, (record,))
        self._save(keyring)
        return keyring

    def rotate(
        self,
        password: str,
        *,
        name: str | None = None,
        cost: ScryptCost | None = None,
        now: datetime | None = None,
    ) -> Keyring:
        """Make a new key (``name``, default ``key-N``) current; the previous ones stay listed."""
        keyring = self.load()
        if not is_did_web(keyring.did):
            raise InvalidInputError(
                f"{keyring.did} is a did:key DID: its key is the DID itself, so it has no rotation. A new key "
                "is a new DID, which the registry would record as another issuer identifier; for an issuer "
                "whose keys change, use a did:web DID"
            )
        taken = {key.name for key in keyring.keys}
        if name is None:
            number = len(keyring.keys) + 1
            while f"key-{number}" in taken:
                number += 1
            name = f"key-{number}"
        if name in taken:
            raise InvalidInputError(
                f"the issuer has had a key named {name!r} already: a name is never used twice, so that a "
                "verification method id always means one key; choose another name"
            )
        moment = _now(now)
        _, record = self._new_key(name, password, cost, moment)
        keys = tuple(replace(key, replaced=moment) if key.name == keyring.current else key for key in keyring.keys)
        rotated = Keyring(keyring.did, name, (*keys, record))
        self._save(rotated)
        return rotated

    def retire(self, name: str, *, now: datetime | None = None) -> Keyring:
        """Take key ``name`` out of the DID document: credentials it signed stop verifying. Not the current key."""
        keyring = self.load()
        key = keyring.key(check_key_name(name))
        if name == keyring.current:
            raise InvalidInputError(
                f"key {name!r} is the current signing key: rotate to a new one first (`anchor did rotate`)"
            )
        if key.retired is not None:
            raise InvalidInputError(f"key {name!r} was retired already, on {_timestamp(key.retired)}")
        retired = Keyring(
            keyring.did,
            keyring.current,
            tuple(replace(k, retired=_now(now)) if k.name == name else k for k in keyring.keys),
        )
        self._save(retired)
        return retired

    def unlock(self, name: str, password: str, keyring: Keyring | None = None) -> Ed25519PrivateKey:
        """Decrypt key ``name``; SigningKeyError for a wrong password or a file not holding the recorded key."""
        keyring = keyring or self.load()
        record = keyring.key(check_key_name(name))
        path = self.key_path(name)
        private_key = _decrypt(_read_checked(path, _KEY_FILE_FORBIDDEN, _MAX_KEY_FILE, "private key"), password, path)
        if _raw_public(private_key) != record.public_key:
            raise SigningKeyError(
                f"{path} does not hold the key that {self.keyring_path} records for {name!r} "
                f"({record.public_key_multibase}): the file or the keyring was replaced"
            )
        return private_key

    def _new_key(
        self, name: str, password: str, cost: ScryptCost | None, now: datetime | None
    ) -> tuple[Ed25519PrivateKey, IssuerKey]:
        path = self.key_path(name)
        if not password:
            raise InvalidInputError("an issuer key needs a non-empty password")
        if path.exists():
            raise InvalidInputError(
                f"{path} exists but is not in the keyring (left by an interrupted run?): move it away, "
                "or choose another name"
            )
        private_key = Ed25519PrivateKey.generate()
        pem = encrypt_private_key(private_key, password, cost or DEFAULT_COST)
        if _raw_public(_decrypt(pem.encode("ascii"), password, path)) != _raw_public(private_key):
            raise InvariantError("an encrypted issuer key did not decrypt to itself")
        private_directory(self.folder)
        write_private_text(path, pem)
        return private_key, IssuerKey(name, _raw_public(private_key), _now(now))

    def _save(self, keyring: Keyring) -> None:
        _check_keyring(keyring, self.keyring_path)
        private_directory(self.folder)
        text = json.dumps(_keyring_json(keyring), indent=2, ensure_ascii=False) + "\n"
        write_private_text(self.keyring_path, text)


def issuer_keys(settings: Settings) -> IssuerKeys:
    """The issuer's keyring folder of this configuration: ``ANCHOR_HOME/keys/did``."""
    return IssuerKeys(settings.keys_dir / KEYRING_FOLDER)


def configured_keyring(settings: Settings) -> Keyring:
    """The keyring, checked against the ``issuer_did`` and ``signing_key`` settings (errors name them)."""
    keys = issuer_keys(settings)
    keyring = keys.load()
    if settings.issuer_did is not None and settings.issuer_did != keyring.did:
        raise InvalidInputError(
            f"issuer_did: {settings.issuer_did!r} is not the DID whose keys are in {keys.keyring_path} "
            f"({keyring.did!r}); set issuer_did to it, or leave it unset"
        )
    if settings.signing_key is not None:
        name = settings.signing_key
        if name not in {key.name for key in keyring.keys}:
            raise InvalidInputError(
                f"signing_key: the issuer has no key named {name!r}; its keys: "
                f"{', '.join(key.name for key in keyring.keys)}"
            )
        key = keyring.key(name)
        if key.retired is not None:
            raise InvalidInputError(
                f"signing_key: key {name!r} was retired on {_timestamp(key.retired)} (it is no longer in the DID "
                "document, so what it signs would not verify); leave signing_key unset to sign with the current key"
            )
    return keyring


def configured_issuer_did(settings: Settings) -> str | None:
    """The issuer's DID: the keyring's (which ``issuer_did`` must equal), else ``issuer_did``, else None.

    Needs no password: for checking ``issuer.id`` at intake and for ``anchor issuer register``'s default.
    """
    if issuer_keys(settings).exists():
        return configured_keyring(settings).did
    return settings.issuer_did


def load_issuer_signer(settings: Settings, password: str) -> IssuerSigner:
    """The issuer's signer: its DID, and the key ``signing_key`` names (default: the current one), decrypted."""
    keys = issuer_keys(settings)
    keyring = configured_keyring(settings)
    name = settings.signing_key or keyring.current
    private_key = keys.unlock(name, password, keyring)
    return IssuerSigner(keyring.did, keyring.key(name).verification_method(keyring.did), private_key, name)


def issuer_public_keys(settings: Settings) -> dict[str, bytes]:
    """Verification method id -> raw Ed25519 public key, for every key in the issuer's DID document."""
    return configured_keyring(settings).public_keys()


# --- encryption: PKCS#8 EncryptedPrivateKeyInfo, PBES2 with scrypt and AES-256-CBC ---


def encrypt_private_key(private_key: Ed25519PrivateKey, password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    """``private_key`` as an encrypted PKCS#8 PEM (PBES2: scrypt at ``cost``, AES-256-CBC): see the module doc."""
    plain = private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    key = Scrypt(salt=salt, length=32, n=cost.n, r=cost.r, p=cost.p).derive(password.encode("utf-8"))
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padder.update(plain) + padder.finalize()) + encryptor.finalize()
    scrypt_parameters = _sequence(_octets(salt), _integer(cost.n), _integer(cost.r), _integer(cost.p), _integer(32))
    algorithm = _sequence(
        _oid(_OID_PBES2),
        _sequence(
            _sequence(_oid(_OID_SCRYPT), scrypt_parameters),
            _sequence(_oid(_OID_AES_256_CBC), _octets(iv)),
        ),
    )
    return _pem(_sequence(algorithm, _octets(ciphertext)))


def _decrypt(data: bytes, password: str, path: Path) -> Ed25519PrivateKey:
    text = data.strip()
    if not (text.startswith(f"-----BEGIN {_PEM_LABEL}-----".encode()) and text.count(b"-----BEGIN") == 1):
        raise SigningKeyError(f"{path} is not an encrypted private key (PKCS#8 PEM, '{_PEM_LABEL}')")
    try:
        private_key = serialization.load_pem_private_key(text, password.encode("utf-8"))
    except ValueError:
        raise SigningKeyError(f"wrong password for issuer key {path.stem!r} ({path})") from None
    except (TypeError, UnsupportedAlgorithm) as error:
        raise SigningKeyError(f"{path} is not a usable encrypted private key: {error}") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} holds a {type(private_key).__name__}, not an Ed25519 key")
    return private_key


def _raw_public(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _sequence(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _octets(value: bytes) -> bytes:
    return _der(0x04, value)


def _integer(value: int) -> bytes:
    """A non-negative DER INTEGER (a leading zero byte where the top bit is set)."""
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def _pem(der: bytes) -> str:
    import base64

    encoded = base64.b64encode(der).decode("ascii")
    lines = [encoded[start : start + 64] for start in range(0, len(encoded), 64)]
    return f"-----BEGIN {_PEM_LABEL}-----\n" + "\n".join(lines) + f"\n-----END {_PEM_LABEL}-----\n"


# --- files ---


def _read_checked(path: Path, forbidden: int, limit: int, what: str) -> bytes:
    """The bytes of ``path``, refused unless a regular file of the caller's (or root's), without a ``forbidden``
    mode bit, of at most ``limit`` bytes."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)  # O_NONBLOCK: a FIFO planted there cannot hang us
    try:
        descriptor = os.open(path, flags)
    except FileNotFoundError:
        raise SigningKeyError(f"the {what} file {path} is missing (see `anchor did show`)") from None
    except OSError as error:
        raise SigningKeyError(f"cannot read the {what} file {path}: {error.strerror}") from None
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SigningKeyError(f"{path} is not a regular file")
        if info.st_uid not in {os.getuid(), 0}:  # put there by someone else, in a folder they could write to
            raise SigningKeyError(
                f"{path} belongs to user {info.st_uid}, not to you: a {what} file must be your own (or root's)"
            )
        mode = stat.S_IMODE(info.st_mode)
        if mode & forbidden:
            raise SigningKeyError(_mode_problem(path, mode, what))
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise SigningKeyError(f"{path} is larger than {limit} bytes: not a {what} file")
    return data


def _mode_problem(path: Path, mode: int, what: str) -> str:
    if what == "private key":
        return (
            f"{path} can be read by other users (mode {mode:04o}): an issuer's private key must be private to its "
            f"owner (0600). If someone may have copied it, retire the key (`anchor did rotate`, then "
            f"`anchor did retire {path.stem}`); otherwise `chmod 600 {path}`"
        )
    return (
        f"{path} can be written by other users (mode {mode:04o}): they could list a key of theirs in your DID "
        f"document. Check its content (`anchor did show`), then `chmod 600 {path}`"
    )


# --- the keyring file ---


def _keyring_json(keyring: Keyring) -> dict[str, Any]:
    return {
        "format": KEYRING_FORMAT,
        "did": keyring.did,
        "current": keyring.current,
        "keys": [
            {
                "name": key.name,
                "publicKeyMultibase": key.public_key_multibase,
                "created": _timestamp(key.created),
                "replaced": None if key.replaced is None else _timestamp(key.replaced),
                "retired": None if key.retired is None else _timestamp(key.retired),
            }
            for key in keyring.keys
        ],
    }


def _parse_keyring(document: object, path: Path) -> Keyring:
    def fail(problem: str) -> SigningKeyError:
        return SigningKeyError(f"{path}: {problem}")

    if not isinstance(document, dict) or document.get("format") != KEYRING_FORMAT:
        raise fail(f"not an issuer keyring ({KEYRING_FORMAT})")
    did, current, entries = document.get("did"), document.get("current"), document.get("keys")
    if not isinstance(did, str) or not isinstance(current, str) or not isinstance(entries, list) or not entries:
        raise fail("'did' and 'current' must be strings and 'keys' a non-empty list")
    keys = []
    for number, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise fail(f"keys[{number}] is not an object")
        try:
            keys.append(
                IssuerKey(
                    check_key_name(entry.get("name")),
                    multikey.public_key_from_multibase(entry.get("publicKeyMultibase")),  # type: ignore[arg-type]
                    _parse_time(entry.get("created")),
                    None if entry.get("replaced") is None else _parse_time(entry.get("replaced")),
                    None if entry.get("retired") is None else _parse_time(entry.get("retired")),
                )
            )
        except (InvalidInputError, TypeError) as error:
            raise fail(f"keys[{number}]: {error}") from None
    keyring = Keyring(did, current, tuple(keys))
    _check_keyring(keyring, path)
    return keyring


def _check_keyring(keyring: Keyring, path: Path) -> None:
    """A keyring that holds together: a valid DID, unique names, a current key that is listed."""
    try:
        check_issuer_did(keyring.did, what="the keyring's DID")
    except InvalidInputError as error:
        raise SigningKeyError(f"{path}: {error}") from None
    names = [key.name for key in keyring.keys]
    if len(set(names)) != len(names):
        raise SigningKeyError(f"{path}: a key name appears twice in {names}")
    current = next((key for key in keyring.keys if key.name == keyring.current), None)
    if current is None or not current.listed:
        raise SigningKeyError(f"{path}: the current key {keyring.current!r} is not a listed key of {names}")
    if keyring.did.startswith(DID_KEY_PREFIX) and (
        len(keyring.keys) != 1 or multikey.did_key(current.public_key) != keyring.did
    ):
        raise SigningKeyError(f"{path}: {keyring.did} is not the did:key of its one key")


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: object) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            pass
    raise InvalidInputError(f"{value!r} is not a UTC time (2025-01-31T12:00:00Z)")
