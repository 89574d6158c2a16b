"""Which development account signs for the demo's issuer: recorded by the demo, used by the issuer commands.

On the local chain the commands sign, without ``--key``, with development account 0, which is the registry's
admin; the demo registers its issuer with account 1 as the signer. So after ``make demo``, ``anchor revoke
RECEIPT`` and ``anchor batch run`` would sign with a key that is not the issuer's. The demo therefore records
its issuer's account in ``ANCHOR_HOME/demo/issuer-<chain id>.json``: the chain, the registry, the issuer and
the index and address of the development account. Nothing secret: the development accounts' keys derive from
a published mnemonic, and they are refused on public chains. The issuer commands use the recorded account on
that chain and registry when neither ``--key`` (``ANCHOR_KEY``) nor ``--dev-account`` is given.
"""

from __future__ import annotations

import json
from pathlib import Path

from anchor.chain.keys import DEVELOPMENT_ACCOUNT_COUNT, development_accounts
from anchor.errors import InvalidInputError
from anchor.files import private_directory, write_json_atomically
from anchor.networks import is_public_chain

#: Format of the record; another is refused.
RECORD_FORMAT = "anchor-demo-issuer-v1"


def record_path(home: Path, chain_id: int) -> Path:
    """Where the demo records its issuer's account for ``chain_id``."""
    return home / "demo" / f"issuer-{chain_id}.json"


def record_demo_issuer(home: Path, chain_id: int, registry: str, issuer_id: int, account_index: int) -> Path:
    """Record that development account ``account_index`` signs for issuer ``issuer_id`` of ``registry``."""
    if is_public_chain(chain_id):
        raise InvalidInputError(f"chain {chain_id} is public: development accounts never sign there")
    path = record_path(home, chain_id)
    private_directory(path.parent)
    write_json_atomically(
        path,
        {
            "format": RECORD_FORMAT,
            "chain_id": chain_id,
            "registry": registry,
            "issuer_id": issuer_id,
            "development_account": account_index,
            "address": development_accounts()[account_index].address,
        },
        private=True,
    )
    return path


def recorded_demo_account(home: Path, chain_id: int, registry: str) -> int | None:
    """The development account the demo recorded as its issuer's signer on this chain and registry, if any.

    None on a public chain, without a record, or when the record is of another registry (redeployed since).
    A record that cannot be read or does not hold together is an error naming the file.
    """
    path = record_path(home, chain_id)
    if is_public_chain(chain_id) or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InvalidInputError(f"{path}: not a readable demo issuer record ({error}); delete it") from error
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
        raise InvalidInputError(f"{path}: not a demo issuer record ({RECORD_FORMAT}); delete it")
    index = record.get("development_account")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < DEVELOPMENT_ACCOUNT_COUNT:
        raise InvalidInputError(
            f"{path}: development_account {index!r} is not an index 0..{DEVELOPMENT_ACCOUNT_COUNT - 1}; delete it"
        )
    if record.get("address") != development_accounts()[index].address:
        raise InvalidInputError(f"{path}: address {record.get('address')!r} is not development account {index}'s")
    if record.get("chain_id") != chain_id or str(record.get("registry", "")).lower() != registry.lower():
        return None
    return index
