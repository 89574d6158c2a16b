"""Publishing status lists: the issuer-signed W3C Bitstring Status List credentials that mirror the chain.

Standard wallets and verifiers learn that a credential was revoked from its ``credentialStatus`` entry: a
bit of a status list credential the issuer publishes at ``<status_base_url>/<n>.json``
(:mod:`anchor.credentials.status_list`). ``anchor status publish DIR`` writes those files, one per list,
for the issuer to put on its website:

1. every credential of the issuer's lists (the entries recorded at intake, :mod:`anchor.issuing.store.status`)
   that is anchored is looked up on the chain, the authority: its bit is set when the registry says its batch
   is revoked (``getBatch``) or it is (``isRevoked``). The local record of revocations sent is not used: a
   revocation counts once the chain holds it, at the issuer's finality (``finality``; one pinned block for
   the whole run, so every list reflects the same state). Credentials not anchored yet are not revoked.
2. each list is built, compared with the file already in DIR, and, when a bit changed (or the file is
   missing, unreadable or another issuer's), signed by the issuer's DID key (``eddsa-rdfc-2022``, the same
   Data Integrity proof as its credentials) and written atomically; an unchanged list (its signature checked)
   is left as it is, so its signature and caching headers stay stable. A list the issuer signed with entries
   set that the chain does not revoke is refused (revocation is permanent: the endpoint is not the chain the
   list came from), unless forced.

Reads are JSON-RPC batches of ``eth_call`` (:class:`~anchor.chain.jsonrpc.JsonRpcEndpoint`, the verifier's
client): a list of 131,072 credentials costs about 650 requests, not 131,072.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from anchor.chain.jsonrpc import JsonRpcEndpoint, RpcError, RpcRevertError, parse_data, parse_quantity
from anchor.chain.registry_abi import RegistryAbi, registry_abi
from anchor.config import Settings
from anchor.credentials.status_list import (
    StatusBits,
    StatusListError,
    find_status_entry,
    list_file_name,
    parse_status_list_credential,
    status_entry_for,
    status_list_credential,
    status_list_url,
)
from anchor.errors import ChainError, InvalidInputError
from anchor.files import write_json_atomically
from anchor.issuing.signing_keys import IssuerSigner
from anchor.issuing.store import StatusListEntry, Store

__all__ = [
    "READ_CHUNK",
    "ChainRevocations",
    "PublishedList",
    "configured_base_url",
    "publish_configured",
    "publish_status_lists",
    "status_entry_source",
]

#: ``eth_call`` s sent in one JSON-RPC batch (each answer is about 110 bytes: far below the response limit).
READ_CHUNK: Final = 200
#: The largest status list file read back to compare with (a list of 16 MiB of random bits, base64url).
_MAX_PUBLISHED_BYTES: Final = 24 << 20


@dataclass(frozen=True)
class PublishedList:
    """What publishing did to one status list."""

    number: int
    url: str
    path: Path
    revoked: int
    """Entries set (revoked) in the list now."""
    newly_revoked: tuple[str, ...]
    """Credentials whose bit is set now but was not in the file before (their ids)."""
    cleared: tuple[int, ...]
    """Indices set in this issuer's signed file before but not revoked on the chain (only with ``force``: revocation
    is permanent, so otherwise that is refused as a sign of a wrong endpoint or chain)."""
    written: bool
    """False when the file already said exactly this and was left unchanged."""
    not_final: int = 0
    """Credentials whose batch the chain does not hold yet at the finality block (not revoked, for now)."""


class ChainRevocations:
    """Which anchored credentials the registry says are revoked, read at one pinned block.

    ``finality`` is the issuer's (``finalized``, ``safe``, ``latest``, or a number of confirmations); the block
    it names is read once, on first use, and every later read is at that block.
    """

    def __init__(self, endpoint: JsonRpcEndpoint, finality: str | int = "finalized", abi: RegistryAbi | None = None):
        self.endpoint = endpoint
        self.finality = finality
        self.abi = abi or registry_abi()
        self._block: int | None = None

    @property
    def pinned(self) -> int | None:
        """The block read at, once something was read (None before)."""
        return self._block

    @property
    def block(self) -> int:
        """The block every read is made at."""
        if self._block is None:
            if isinstance(self.finality, int):
                head = parse_quantity(self.endpoint.call("eth_blockNumber", []), "eth_blockNumber")
                self._block = max(0, head - self.finality + 1)
            else:
                header = self.endpoint.call("eth_getBlockByNumber", [self.finality, False])
                number = header.get("number") if isinstance(header, dict) else None
                self._block = parse_quantity(number, f"{self.finality} block number")
        return self._block

    def revoked(self, entries: Sequence[StatusListEntry]) -> tuple[set[int], int]:
        """The status indices of ``entries`` revoked on the chain, and how many are in batches not final yet."""
        anchored = [entry for entry in entries if entry.onchain_batch_id is not None]
        if not anchored:
            return set(), 0
        chain_id = self.endpoint.chain_id()
        other = next((entry for entry in anchored if entry.chain_id != chain_id), None)
        if other is not None:
            raise ChainError(
                f"credential {other.credential_id} is anchored on chain {other.chain_id}, but "
                f"{self.endpoint.shown_url} is chain {chain_id}: publish with that chain's RPC endpoint "
                "(a list built without it would say its credentials are not revoked)"
            )
        batches = sorted({(str(entry.registry), int(entry.onchain_batch_id or 0)) for entry in anchored})
        answers = self._calls([(registry, self.abi.batch_call(batch)) for registry, batch in batches])
        revoked_batches: set[tuple[str, int]] = set()
        unknown: set[tuple[str, int]] = set()
        for (registry, batch), answer in zip(batches, answers, strict=True):
            if isinstance(answer, RpcRevertError) and (answer.data or "").startswith(self.abi.unknown_batch_selector):
                unknown.add((registry, batch))  # not anchored at this block: nothing of it is revoked yet
                continue
            if isinstance(answer, RpcError):
                raise answer
            if self.abi.decode_batch_revoked_at(answer)[1] != 0:
                revoked_batches.add((registry, batch))
        revoked = {entry.index for entry in anchored if (entry.registry, entry.onchain_batch_id) in revoked_batches}
        asked = [
            entry
            for entry in anchored
            if (key := (str(entry.registry), int(entry.onchain_batch_id or 0))) not in revoked_batches
            and key not in unknown
        ]
        answers = self._calls(
            [
                (str(entry.registry), self.abi.is_revoked_call(entry.onchain_batch_id or 0, entry.batch_index or 0))
                for entry in asked
            ]
        )
        for entry, answer in zip(asked, answers, strict=True):
            if isinstance(answer, RpcError):
                raise RpcError(f"isRevoked of credential {entry.credential_id}: {answer}")
            if self.abi.decode_is_revoked(answer):
                revoked.add(entry.index)
        not_final = sum(1 for entry in anchored if (entry.registry, entry.onchain_batch_id) in unknown)
        return revoked, not_final

    def _calls(self, calls: Sequence[tuple[str, str]]) -> list[str | RpcError]:
        """``eth_call`` of each (contract, data) at the pinned block, in JSON-RPC batches of :data:`READ_CHUNK`.

        An endpoint that refuses a batch that large (public endpoints often cap batches) is asked again in
        batches a quarter the size, down to single requests.
        """
        block = hex(self.block)
        results: list[str | RpcError] = []
        size = READ_CHUNK
        while len(results) < len(calls):
            chunk = calls[len(results) : len(results) + size]
            try:
                answers = self.endpoint.batch([("eth_call", [{"to": to, "data": data}, block]) for to, data in chunk])
            except RpcError:
                if size == 1:
                    raise
                size = max(1, size // 4)
                continue
            for answer in answers:
                results.append(answer if isinstance(answer, RpcError) else parse_data(answer, "eth_call"))
        return results


def publish_status_lists(
    store: Store,
    signer: IssuerSigner,
    base_url: str,
    folder: Path,
    chain: ChainRevocations,
    *,
    now: datetime | None = None,
    force: bool = False,
) -> list[PublishedList]:
    """Write the signed status list of each of ``signer``'s lists into ``folder``; what changed, list by list.

    ``base_url`` must be the one the lists' credentials name (checked against one credential of each list).
    ``force`` re-signs and writes every list, changed or not.
    """
    from anchor.credentials.data_integrity import add_proof, sign  # pyld is imported only by those who sign

    moment = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    folder.mkdir(parents=True, exist_ok=True)
    published: list[PublishedList] = []
    for record in store.status_lists(signer.did):
        url = status_list_url(base_url, record.number)
        entries = list(store.status_list_entries(record.number))
        _check_url(store, entries, url, record.number)
        revoked, not_final = chain.revoked(entries)
        bits = StatusBits(record.size)
        for index in revoked:
            bits.set(index)
        path = folder / list_file_name(url)
        previous = _published_bits(path, url, signer)
        before = set(previous.set_indices()) if previous is not None else set()
        cleared = tuple(sorted(before - revoked))
        if cleared and not force:
            shown = ", ".join(str(index) for index in cleared[:10])
            raise ChainError(
                f"status list {record.number}: {path} has entries {shown} set (revoked, as this issuer signed it), "
                f"but the chain (block {chain.pinned}) does not revoke them; revocation is permanent, so the "
                "endpoint or the chain is not the one the list was published from: nothing written (check the RPC "
                "endpoint; --force writes what this chain says)"
            )
        names = {entry.index: entry.credential_id for entry in entries}
        write = force or previous is None or previous != bits
        if write:
            document = status_list_credential(url, signer.did, bits, moment)
            proof = sign(document, signer.private_key, signer.verification_method, created=moment)
            write_json_atomically(path, add_proof(document, proof))
        published.append(
            PublishedList(
                number=record.number,
                url=url,
                path=path,
                revoked=len(revoked),
                newly_revoked=tuple(names[index] for index in sorted(revoked - before)),
                cleared=cleared,
                written=write,
                not_final=not_final,
            )
        )
    return published


def _check_url(store: Store, entries: Iterable[StatusListEntry], url: str, number: int) -> None:
    """The list's credentials name ``url``: else ``status_base_url`` changed since they were issued."""
    first = next(iter(entries), None)
    if first is None:
        return
    record = store.find_credential(first.credential_id)
    named = None
    if record is not None:
        try:
            entry = find_status_entry(json.loads(record.document))
        except (StatusListError, ValueError):
            entry = None
        named = entry.list_url if entry is not None else None
    if named != url:
        raise InvalidInputError(
            f"status_base_url: status list {number} would be published at {url}, but its credentials name "
            f"{named!r} (credential {first.credential_id}): set status_base_url back to what it was when they "
            "were issued"
        )


def _published_bits(path: Path, url: str, signer: IssuerSigner) -> StatusBits | None:
    """The bits of the list at ``path`` if it is ``signer``'s list for ``url``, signed with its current key.

    None (write it afresh) for a missing, unreadable or foreign file, or one signed with another key (after
    a rotation: the old key may be retired from the DID document, and its signature would stop verifying).
    """
    from anchor.credentials.data_integrity import verify

    try:
        with path.open("rb") as stream:
            data = stream.read(_MAX_PUBLISHED_BYTES + 1)
        if len(data) > _MAX_PUBLISHED_BYTES:
            return None
        document = json.loads(data)
        published = parse_status_list_credential(document)
    except (OSError, ValueError):  # missing, unreadable, not JSON, not a status list: written afresh
        return None
    proofs = document.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs]
    methods = [proof.get("verificationMethod") for proof in proofs if isinstance(proof, dict)]
    if published.url != url or published.issuer != signer.did or methods != [signer.verification_method]:
        return None
    unsigned = {name: value for name, value in document.items() if name != "proof"}
    try:  # a damaged or forged file is replaced, never left in place as "unchanged"
        verify(unsigned, proofs[0], signer.private_key.public_key().public_bytes_raw())
    except InvalidInputError:
        return None
    return published.bits


def status_entry_source(
    store: Store, issuer: str, base_url: str, list_size: int
) -> Callable[[int], list[dict[str, str]]]:
    """What hands out ``credentialStatus`` entries at intake: ``next(n)`` reserves ``n`` entries of ``issuer``'s
    lists (committed before it returns: see :meth:`~anchor.issuing.store.Store.reserve_status_indices`) and
    returns them as ``BitstringStatusListEntry`` objects under ``base_url``.
    """
    status_list_url(base_url, 1)  # checks the base URL before anything is reserved

    def next_entries(count: int) -> list[dict[str, str]]:
        return [
            status_entry_for(base_url, number, index)
            for slots in store.reserve_status_indices(issuer, count, list_size=list_size)
            for number, index in slots
        ]

    return next_entries


def configured_base_url(settings: Settings) -> str:
    """``status_base_url``, which publishing needs; InvalidInputError saying so when it is not set."""
    if settings.status_base_url is None:
        raise InvalidInputError(
            "status_base_url is not set: it is the https folder URL where the status lists are published "
            "(ANCHOR_STATUS_BASE_URL or status_base_url in config.toml), the one the credentials name"
        )
    return settings.status_base_url


def publish_configured(
    settings: Settings,
    signer: IssuerSigner,
    folder: Path,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> tuple[list[PublishedList], ChainRevocations]:
    """:func:`publish_status_lists` with the configuration's database, RPC endpoint, finality and base URL."""
    base_url = configured_base_url(settings)
    endpoint = JsonRpcEndpoint(settings.effective_rpc_url)
    try:
        chain = ChainRevocations(endpoint, settings.finality_policy)
        with Store.open(settings) as store:
            published = publish_status_lists(store, signer, base_url, folder, chain, now=now, force=force)
        return published, chain
    finally:
        endpoint.close()
