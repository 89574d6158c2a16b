"""Durable transactions: sign once, journal before broadcasting, replace when stuck, confirm past reorgs.

One :class:`Sender` per key. A transaction's life:

1. ``prepare``: EIP-1559 fields (tip at least the network minimum, max fee under the ceiling), the nonce from
   the key's ``pending`` count (never below a nonce this sender used), gas estimated (a revert shows here).
   A spend guard, when set, sees the worst case of the transaction (gas limit x max fee) before it is
   signed and can stop it there (the issuer's spending budgets).
2. The signed bytes and hash go to the journal (the issuer's database) **before** they are broadcast, so a
   crash at any point leaves a record to resume from.
3. Broadcast. "already known" and "nonce too low" for a transaction of ours that is mined count as success.
4. Wait for a receipt; when none comes within ``stuck_after``, replace it: same nonce, both fees raised by
   ``bump`` (at least 12.5%, the rule nodes enforce) up to the ceiling, journaled before broadcast.
5. Wait until the receipt's block is at or below the finality tag (``finalized`` by default) or deep
   enough, then check that the block still holds the transaction; if a reorg dropped it, broadcast the
   journaled bytes again and go back to 4.

RPC failures (connection errors, timeouts, HTTP 5xx) are retried with exponential backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import requests
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3.contract.contract import ContractFunction
from web3.exceptions import TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt

from anchor.addresses import to_checksum_address
from anchor.chain.connection import GAS_MARGIN, Chain, fee_fields, gas_and_fee
from anchor.chain.keys import refuse_development_key
from anchor.errors import ChainError, InvalidInputError

T = TypeVar("T")
#: Nodes refuse a replacement unless both fees rise by at least 12.5%.
MIN_BUMP = 1.125


@dataclass(frozen=True)
class SentTx:
    """A signed transaction as journaled: enough to rebroadcast it byte for byte."""

    nonce: int
    tx_hash: str
    raw_tx: str
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


class Journal(Protocol):
    """Where a sender records its transactions before broadcasting them (the issuer's database)."""

    def signed(self, tx: SentTx) -> None:
        """``tx`` is signed and about to be broadcast; it must be durable when this returns."""

    def state(self, tx: SentTx, state: str) -> None:
        """``tx`` was broadcast, mined, replaced or dropped."""


@dataclass
class TxPolicy:
    """How a sender waits, replaces and confirms."""

    #: ``finalized``, ``safe`` or ``latest`` block tag, or a number of confirmations (blocks on top).
    finality: str | int = "finalized"
    #: Seconds without a receipt before the transaction is replaced with higher fees.
    stuck_after: float = 60.0
    #: Factor both fees are raised by on replacement (>= 1.125).
    bump: float = 1.2
    #: Ceiling on the max fee per gas, in wei.
    max_fee_ceiling_wei: int | None = None
    #: Give up waiting for finality after this many seconds.
    finality_timeout: float = 1800.0
    #: Retries of a failing RPC call, with exponential backoff from ``backoff`` seconds.
    retries: int = 6
    backoff: float = 0.5
    poll: float = 0.5

    def __post_init__(self) -> None:
        if self.bump < MIN_BUMP:
            raise InvalidInputError(f"bump {self.bump} is below {MIN_BUMP}: nodes would refuse the replacement")


@dataclass
class Confirmed:
    """A transaction whose block reached the finality policy."""

    tx: SentTx
    receipt: TxReceipt
    attempts: list[SentTx] = field(default_factory=list)


class NonceTakenError(ChainError):
    """The nonce of our transaction was used by a transaction that is not ours."""


class Sender:
    """Sends transactions of one key durably (see the module docstring)."""

    def __init__(self, chain: Chain, account: LocalAccount, policy: TxPolicy, journal: Journal) -> None:
        refuse_development_key(account, chain.chain_id)
        self.chain = chain
        self.account = account
        self.policy = policy
        self.journal = journal
        self._next_nonce: int | None = None
        self.on_receipt: Callable[[TxReceipt], None] | None = None
        #: Called before each signing (a first send or a replacement) with the most the transaction can
        #: cost in wei (``gas`` x ``maxFeePerGas`` + ``value``); raising stops the send before anything is signed.
        self.spend_guard: Callable[[int], None] | None = None
        #: Called once a transaction is final, or mined and reverted (it paid then) with its receipt's gas used
        #: and fee in wei (``gasUsed`` x ``effectiveGasPrice``).
        self.on_paid: Callable[[SentTx, int, int], None] | None = None

    # ------------------------------------------------------------------ public

    def send(self, call: ContractFunction) -> Confirmed:
        """Sign, journal, broadcast and confirm ``call``."""
        tx = self._sign(self._prepare(call))
        return self._drive([tx])

    def resume(self, attempts: Sequence[SentTx]) -> Confirmed:
        """Continue with transactions journaled earlier (oldest first): rebroadcast, wait, replace, confirm."""
        if not attempts:
            raise InvalidInputError("nothing to resume")
        nonces = {a.nonce for a in attempts}
        if len(nonces) != 1:
            raise InvalidInputError(f"attempts of one transaction must share a nonce, found {sorted(nonces)}")
        return self._drive(list(attempts))

    # ------------------------------------------------------------------ internals

    def _prepare(self, call: ContractFunction) -> dict[str, Any]:
        eth = self.chain.w3.eth
        pending = self._rpc(lambda: eth.get_transaction_count(self.account.address, "pending"))
        nonce = max(pending, self._next_nonce or 0)
        gas = self._rpc(lambda: call.estimate_gas({"from": self.account.address}))
        params: dict[str, Any] = {
            "from": self.account.address,
            "chainId": self.chain.chain_id,
            "nonce": nonce,
            "gas": int(gas * GAS_MARGIN),
            "type": 2,
        }
        params.update(self._rpc(lambda: fee_fields(self.chain, self.policy.max_fee_ceiling_wei)))
        return dict(call.build_transaction(cast(TxParams, params)))

    def _sign(self, params: dict[str, Any]) -> SentTx:
        if self.spend_guard is not None:
            self.spend_guard(worst_case_cost(params))
        signed = self.account.sign_transaction(params)
        tx = SentTx(
            nonce=int(params["nonce"]),
            tx_hash=signed.hash.to_0x_hex(),
            raw_tx=signed.raw_transaction.to_0x_hex(),
            max_fee_per_gas=int(params["maxFeePerGas"]),
            max_priority_fee_per_gas=int(params["maxPriorityFeePerGas"]),
        )
        self.journal.signed(tx)
        self._next_nonce = tx.nonce + 1
        return tx

    def _drive(self, attempts: list[SentTx]) -> Confirmed:
        """Broadcast the latest attempt, replace while stuck, confirm; loop again after a reorg."""
        for tx in attempts:
            self._broadcast(tx)
        while True:
            receipt, mined = self._await_receipt(attempts)
            if receipt["status"] != 1:
                self._paid(mined, receipt)
                self.journal.state(mined, "mined")
                raise ChainError(f"transaction {mined.tx_hash} reverted in block {receipt['blockNumber']}")
            if self.on_receipt is not None:
                self.on_receipt(receipt)
            if self._confirm(receipt, mined):
                self._paid(mined, receipt)
                self.journal.state(mined, "mined")
                for other in attempts:
                    if other is not mined:
                        self.journal.state(other, "replaced")
                self._next_nonce = max(self._next_nonce or 0, mined.nonce + 1)
                return Confirmed(mined, receipt, attempts)
            # a reorg dropped the transaction: it is pending again (or gone); send the journaled bytes again
            self.journal.state(mined, "dropped")
            self._broadcast(mined)

    def _paid(self, tx: SentTx, receipt: TxReceipt) -> None:
        """Tell ``on_paid`` what ``tx`` paid; at its max fee per gas if the node gives no ``effectiveGasPrice``."""
        if self.on_paid is None:
            return
        gas_used, fee = gas_and_fee(receipt)
        if receipt.get("effectiveGasPrice") is None:
            fee = gas_used * tx.max_fee_per_gas  # the most it can have paid: budgets never count less
        self.on_paid(tx, gas_used, fee)

    def _await_receipt(self, attempts: list[SentTx]) -> tuple[TxReceipt, SentTx]:
        deadline = time.monotonic() + self.policy.stuck_after
        while True:
            for tx in reversed(attempts):
                receipt = self._receipt(tx.tx_hash)
                if receipt is not None:
                    return receipt, tx
            if time.monotonic() >= deadline:
                self._check_nonce_not_taken(attempts)
                replacement = self._replace(attempts[-1])
                if replacement is not None:
                    attempts.append(replacement)
                    self._broadcast(replacement)
                else:  # the latest may have been dropped by the node: offer it again
                    self._broadcast(attempts[-1])
                deadline = time.monotonic() + self.policy.stuck_after
            time.sleep(self.policy.poll)

    def _check_nonce_not_taken(self, attempts: list[SentTx]) -> None:
        """Raise NonceTakenError if the key's mined nonce passed ours and none of our attempts is in a block."""
        eth = self.chain.w3.eth
        mined_count = self._rpc(lambda: eth.get_transaction_count(self.account.address, "latest"))
        if mined_count > attempts[-1].nonce and all(self._receipt(tx.tx_hash) is None for tx in attempts):
            for tx in attempts:
                self.journal.state(tx, "dropped")
            raise NonceTakenError(
                f"nonce {attempts[-1].nonce} of {self.account.address} was used by a transaction that is not one "
                f"of ours ({', '.join(tx.tx_hash for tx in attempts)})"
            )

    def _replace(self, stuck: SentTx) -> SentTx | None:
        """The same transaction, same nonce, both fees raised; None when the ceiling allows no raise."""
        raw = HexBytes(stuck.raw_tx)
        params = _decode_params(self.chain, raw, stuck)
        current = self._rpc(lambda: fee_fields(self.chain, None))
        tip = max(int(stuck.max_priority_fee_per_gas * self.policy.bump) + 1, current["maxPriorityFeePerGas"])
        max_fee = max(int(stuck.max_fee_per_gas * self.policy.bump) + 1, current["maxFeePerGas"], tip)
        ceiling = self.policy.max_fee_ceiling_wei
        if ceiling is not None and max_fee > ceiling:
            if stuck.max_fee_per_gas * MIN_BUMP > ceiling:
                return None
            max_fee = ceiling
            tip = min(tip, max_fee)
        params["maxFeePerGas"] = max_fee
        params["maxPriorityFeePerGas"] = tip
        return self._sign(params)

    def _broadcast(self, tx: SentTx) -> None:
        eth = self.chain.w3.eth
        for attempt in range(self.policy.retries + 1):
            try:
                eth.send_raw_transaction(HexBytes(tx.raw_tx))
                self.journal.state(tx, "broadcast")
                return
            except Web3RPCError as error:
                message = str(error).lower()
                if any(text in message for text in ("already known", "known transaction", "already imported")):
                    self.journal.state(tx, "broadcast")
                    return
                if "nonce too low" in message or "nonce has already been used" in message:
                    return  # mined already (ours, found by _await_receipt) or taken (found there too)
                if "underpriced" in message:
                    return  # a replacement with the same nonce is pending; _await_receipt will bump again
                raise ChainError(f"the node refused transaction {tx.tx_hash}: {error}") from error
            except (requests.RequestException, OSError) as error:
                if attempt == self.policy.retries:
                    raise ChainError(f"RPC endpoint {self.chain.shown_url} failed: {error}") from error
                time.sleep(self.policy.backoff * 2**attempt)

    def _receipt(self, tx_hash: str) -> TxReceipt | None:
        def fetch() -> TxReceipt | None:
            try:
                return self.chain.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
            except TransactionNotFound:
                return None

        return self._rpc(fetch)

    def _confirm(self, receipt: TxReceipt, tx: SentTx) -> bool:
        """Wait for the policy's depth; True if the receipt's block is still canonical then."""
        eth = self.chain.w3.eth
        block_number = int(receipt["blockNumber"])
        deadline = time.monotonic() + self.policy.finality_timeout
        finality = self.policy.finality
        while True:
            if isinstance(finality, int):
                head = self._rpc(lambda: int(eth.block_number))
                reached = head - block_number + 1 >= finality
            else:
                reached = self._rpc(lambda: int(eth.get_block(finality)["number"])) >= block_number  # type: ignore[arg-type]
            current = self._receipt(tx.tx_hash)
            if current is None or current["blockHash"] != receipt["blockHash"]:
                return False
            if reached:
                return True
            if time.monotonic() > deadline:
                raise ChainError(
                    f"transaction {tx.tx_hash} in block {block_number} did not reach {self.policy.finality} "
                    f"within {self.policy.finality_timeout:.0f} s"
                )
            time.sleep(self.policy.poll)

    def _rpc(self, call: Callable[[], T]) -> T:
        for attempt in range(self.policy.retries + 1):
            try:
                return call()
            except (requests.ConnectionError, requests.Timeout, OSError) as error:
                failure: Exception = error
            except requests.HTTPError as error:
                if error.response is not None and error.response.status_code < 500:
                    raise ChainError(f"RPC endpoint {self.chain.shown_url} refused: {error}") from error
                failure = error
            if attempt == self.policy.retries:
                raise ChainError(f"RPC endpoint {self.chain.shown_url} failed {attempt + 1} times: {failure}")
            time.sleep(self.policy.backoff * 2**attempt)
        raise AssertionError("unreachable")


def worst_case_cost(params: Mapping[str, Any]) -> int:
    """The most an EIP-1559 transaction can cost its sender, in wei: its gas limit at its max fee, plus its value."""
    return int(params["gas"]) * int(params["maxFeePerGas"]) + int(params.get("value", 0))


def _decode_params(chain: Chain, raw: HexBytes, tx: SentTx) -> dict[str, Any]:
    """The fields of a journaled EIP-1559 transaction, to re-sign it with other fees."""
    from eth_account.typed_transactions.typed_transaction import TypedTransaction

    decoded: dict[str, Any] = TypedTransaction.from_bytes(raw).as_dict()
    params: dict[str, Any] = {
        "type": 2,
        "chainId": chain.chain_id,
        "nonce": tx.nonce,
        "to": to_checksum_address(HexBytes(decoded["to"]).to_0x_hex()),
        "value": decoded["value"],
        "data": decoded["data"],
        "gas": decoded["gas"],
        "maxFeePerGas": tx.max_fee_per_gas,
        "maxPriorityFeePerGas": tx.max_priority_fee_per_gas,
    }
    if decoded.get("accessList"):
        params["accessList"] = decoded["accessList"]
    return params
