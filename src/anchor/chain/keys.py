"""Signing keys: encrypted eth-account keystores, and the development keys refused on public chains.

Keys live as Web3 Secret Storage files (scrypt + AES-128-CTR) under ``ANCHOR_HOME/keys/<name>.json``, readable
by the owner only. A key is never printed or logged; its password comes from ``ANCHOR_KEY_PASSWORD``,
``ANCHOR_KEY_PASSWORD_FILE`` or a prompt, never from the config file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from anchor.addresses import to_checksum_address
from anchor.errors import InvalidInputError, SigningKeyError
from anchor.files import private_directory
from anchor.networks import is_public_chain

#: The mnemonic anvil, hardhat and foundry derive their funded accounts from: public knowledge.
DEVELOPMENT_MNEMONIC = "test test test test test test test test test test test junk"
DEVELOPMENT_ACCOUNT_COUNT = 20
#: Private keys below this are guessable (0x...01, 0x...02 are used by test tools and drained at once).
_SMALL_KEY_LIMIT = 2**64

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@cache
def development_accounts() -> tuple[LocalAccount, ...]:
    """The well-known anvil/hardhat accounts (index 0 is the usual deployer)."""
    Account.enable_unaudited_hdwallet_features()
    return tuple(
        Account.from_mnemonic(DEVELOPMENT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
        for index in range(DEVELOPMENT_ACCOUNT_COUNT)
    )


def is_development_key(account: LocalAccount) -> bool:
    """True for a well-known development account or a trivially small private key."""
    if int.from_bytes(account.key, "big") < _SMALL_KEY_LIMIT:
        return True
    return account.address in {dev.address for dev in development_accounts()}


def refuse_development_key(account: LocalAccount, chain_id: int) -> None:
    """Raise if ``account`` is a development key and ``chain_id`` is not a local chain."""
    if is_public_chain(chain_id) and is_development_key(account):
        raise SigningKeyError(
            f"refusing to sign on chain {chain_id} with {account.address}: it is a well-known development key "
            "whose private key is public. Create a key with `anchor key new NAME` and select it with --key NAME"
        )


@dataclass(frozen=True)
class StoredKey:
    """A keystore file: its name, address and path (never its secret)."""

    name: str
    address: str
    path: Path


class Keystore:
    """The encrypted keys in one folder (``ANCHOR_HOME/keys``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, name_or_path: str) -> Path:
        """The keystore file for a key name, or an explicit path to a keystore file."""
        if os.sep in name_or_path or name_or_path.endswith(".json"):
            return Path(name_or_path).expanduser()
        _check_name(name_or_path)
        return self.folder / f"{name_or_path}.json"

    def create(self, name: str, password: str, **kdf: Any) -> StoredKey:
        """Generate a new key, encrypt it with ``password`` and store it as ``name``."""
        return self._store(name, Account.create(), password, **kdf)

    def import_key(self, name: str, private_key: str, password: str, **kdf: Any) -> StoredKey:
        """Encrypt an existing private key (0x-hex) with ``password`` and store it as ``name``."""
        try:
            account: LocalAccount = Account.from_key(private_key.strip())
        except (ValueError, TypeError) as error:
            raise InvalidInputError("not a valid private key (expected 32 bytes as 64 hex digits)") from error
        return self._store(name, account, password, **kdf)

    def list(self) -> list[StoredKey]:
        """Every stored key, by name."""
        keys = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                address = json.loads(path.read_text(encoding="utf-8"))["address"]
            except (OSError, ValueError, KeyError):
                continue
            keys.append(StoredKey(path.stem, _checksum(address), path))
        return keys

    def address_of(self, name_or_path: str) -> str:
        """The address of a stored key, read without decrypting it."""
        data = self._read(self.path_of(name_or_path))
        return _checksum(data["address"])

    def unlock(self, name_or_path: str, password: str) -> LocalAccount:
        """Decrypt a stored key; a wrong password is a clear error."""
        path = self.path_of(name_or_path)
        data = self._read(path)
        try:
            private_key = Account.decrypt(data, password)
        except ValueError:
            raise SigningKeyError(f"wrong password for key {name_or_path!r} ({path})") from None
        account: LocalAccount = Account.from_key(private_key)
        return account

    def _store(self, name: str, account: LocalAccount, password: str, **kdf: Any) -> StoredKey:
        _check_name(name)
        if not password:
            raise InvalidInputError("a key needs a non-empty password")
        path = self.folder / f"{name}.json"
        if path.exists():
            raise InvalidInputError(f"a key named {name!r} exists already ({path}); choose another name")
        private_directory(self.folder)
        encrypted = Account.encrypt(account.key, password, **kdf)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(encrypted, handle)
        temporary.replace(path)
        return StoredKey(name, account.address, path)

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        if not path.is_file():
            raise SigningKeyError(
                f"no key at {path}: create one with `anchor key new NAME` or list them with `anchor key list`"
            )
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise SigningKeyError(f"{path} is not a readable keystore file: {error}") from error
        if "crypto" not in data and "Crypto" not in data:
            raise SigningKeyError(f"{path} is not an encrypted keystore file")
        return data


def read_password(env_password: str | None, password_file: Path | None, prompt: Callable[[], str] | None) -> str:
    """The key password from the environment, a file, or the prompt, in that order."""
    if env_password:
        return env_password
    if password_file is not None:
        try:
            return password_file.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError) as error:
            raise SigningKeyError(f"cannot read a password from {password_file}: {error}") from error
    if prompt is None:
        raise SigningKeyError("no key password: set ANCHOR_KEY_PASSWORD or ANCHOR_KEY_PASSWORD_FILE")
    return prompt()


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise InvalidInputError(
            f"invalid key name {name!r}: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )


def _checksum(address: str) -> str:
    """A keystore's ``address`` (40 hex digits, 0x optional) in EIP-55 form."""
    return to_checksum_address(address if address.startswith("0x") else "0x" + address)
