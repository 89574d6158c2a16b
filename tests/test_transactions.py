"""``transactions.Sender`` on a real anvil node whose blocks come only when a test mines them.

Mining is off for the whole module (``evm_setIntervalMining 0``): a transaction stays pending until the test
calls :func:`mine`, so each test decides when a transaction is stuck, replaced, mined, reorganised away or
beaten to its nonce. Every test uses keys of its own (new accounts, funded and made signers of one issuer),
so nonces start at 0 and no test sees another's transactions.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from hexbytes import HexBytes
from web3.contract.contract import ContractFunction
from web3.types import TxReceipt

from anchor.chain.connection import Chain, connect, fee_fields
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry
from anchor.chain.transactions import MIN_BUMP, Confirmed, NonceTakenError, Sender, SentTx, TxPolicy
from anchor.config import Settings
from anchor.credentials.examples import issuer_for_country
from anchor.errors import ChainError

from support.anvil import rpc

pytestmark = pytest.mark.slow
DEV = development_accounts()
ISSUER = issuer_for_country("DE")
T = TypeVar("T")


class Recorder:
    """A journal that remembers every call, in order: ``("signed" | state, tx_hash)``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.signed_txs: list[SentTx] = []

    def signed(self, tx: SentTx) -> None:
        self.signed_txs.append(tx)
        self.events.append(("signed", tx.tx_hash))

    def state(self, tx: SentTx, state: str) -> None:
        self.events.append((state, tx.tx_hash))

    def count(self, event: str, tx: SentTx) -> int:
        return self.events.count((event, tx.tx_hash))


class CrashError(Exception):
    """Stands in for the process dying."""


class CrashingJournal(Recorder):
    """Records, then dies when the ``crash_at``-th transaction is signed: journaled, never broadcast."""

    def __init__(self, crash_at: int) -> None:
        super().__init__()
        self.crash_at = crash_at

    def signed(self, tx: SentTx) -> None:
        super().signed(tx)
        if len(self.signed_txs) == self.crash_at:
            raise CrashError(f"died after journaling {tx.tx_hash}")


class Background(Generic[T]):
    """``work()`` on a daemon thread (a failed test must not leave the run waiting for it)."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._result: list[T] = []
        self._error: list[BaseException] = []

        def run() -> None:
            try:
                self._result.append(work())
            except BaseException as error:  # handed to the test by result()
                self._error.append(error)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self, timeout: float = 15.0) -> T:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"still running after {timeout} s"
        if self._error:
            raise self._error[0]
        return self._result[0]


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def pending(chain: Chain, *senders: LocalAccount) -> list[str]:
    """Hashes of the transactions the node holds for the next block (only those of ``senders``, if given)."""
    block = chain.w3.eth.get_block("pending", full_transactions=True)
    wanted = {account.address for account in senders}
    return [tx["hash"].to_0x_hex() for tx in block["transactions"] if not wanted or tx["from"] in wanted]


def mine(chain: Chain, blocks: int = 1) -> None:
    for _ in range(blocks):
        rpc(chain.w3, "evm_mine")


def settle(chain: Chain, work: Callable[[], T]) -> T:
    """Run ``work`` (which waits for its own receipts), mining a block whenever a transaction is pending."""
    task = Background(work)
    while not task.done():
        if pending(chain):
            mine(chain)
        time.sleep(0.01)
    return task.result()


def fields(tx: SentTx) -> dict[str, Any]:
    """The signed fields of a journaled transaction."""
    return dict(TypedTransaction.from_bytes(HexBytes(tx.raw_tx)).as_dict())


def policy(**overrides: Any) -> TxPolicy:
    return TxPolicy(**({"finality": 1, "stuck_after": 60.0, "poll": 0.02, "retries": 1} | overrides))


@pytest.fixture(scope="module")
def chain(anvil: Settings) -> Chain:
    connected = connect(anvil)
    rpc(connected.w3, "evm_setIntervalMining", 0)  # no blocks but those the tests mine
    return connected


@pytest.fixture(scope="module")
def registry(chain: Chain) -> tuple[Registry, int]:
    """A registry and the id of an issuer the tests' keys become signers of."""
    deployed, _ = settle(chain, lambda: Registry.deploy(chain, DEV[0], DEV[0].address, 0))
    issuer_id, _ = settle(
        chain, lambda: deployed.register_issuer(DEV[0], ISSUER.name, ISSUER.country_code, ISSUER.id, [])
    )
    return deployed, issuer_id


@pytest.fixture(autouse=True)
def _drop_leftovers(chain: Chain) -> Iterator[None]:
    """Transactions a test leaves pending (it failed) are dropped; tests look only at their own keys' anyway."""
    yield
    for tx_hash in pending(chain):
        rpc(chain.w3, "anvil_dropTransaction", tx_hash)


@pytest.fixture
def new_signer(chain: Chain, registry: tuple[Registry, int]) -> Callable[[], LocalAccount]:
    """Makes a new funded key, a signer of the test issuer: its first nonce is 0."""
    contract, issuer_id = registry

    def make() -> LocalAccount:
        account: LocalAccount = Account.create()
        rpc(chain.w3, "anvil_setBalance", account.address, hex(10**20))
        add = contract.contract.functions.addSigner(issuer_id, account.address)
        settle(chain, lambda: contract.transact(DEV[0], add))
        return account

    return make


@pytest.fixture
def signer(new_signer: Callable[[], LocalAccount]) -> LocalAccount:
    return new_signer()


def anchor_call(registry: tuple[Registry, int], root: bytes | None = None) -> ContractFunction:
    """Anchoring a new root: any signer of the issuer may send it, and it changes state we can read back."""
    return registry[0].contract.functions.anchor(root or os.urandom(32), 3)


# ---------------------------------------------------------------------------------------------- sending


def test_a_send_is_journaled_before_broadcast_and_returns_once_deep_enough(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    journal = Recorder()
    sender = Sender(chain, signer, policy(finality=3), journal)
    receipts: list[TxReceipt] = []
    sender.on_receipt = receipts.append
    root = os.urandom(32)
    base_fee = int(chain.w3.eth.get_block("latest")["baseFeePerGas"])
    task = Background(lambda: sender.send(anchor_call(registry, root)))

    wait_until(lambda: pending(chain, signer))
    (tx,) = journal.signed_txs
    assert journal.events == [("signed", tx.tx_hash), ("broadcast", tx.tx_hash)]
    assert pending(chain, signer) == [tx.tx_hash]
    assert rpc(chain.w3, "eth_getRawTransactionByHash", tx.tx_hash) == tx.raw_tx  # the journaled bytes
    assert tx.nonce == 0
    tip = max(int(chain.w3.eth.max_priority_fee), chain.network.min_priority_fee_wei)
    assert (tx.max_priority_fee_per_gas, tx.max_fee_per_gas) == (tip, 2 * base_fee + tip)
    assert fields(tx)["type"] == 2

    mine(chain)  # in a block: one confirmation of the three the policy asks for
    wait_until(lambda: receipts)
    mine(chain)
    time.sleep(0.3)  # many polls
    assert not task.done()
    assert ("mined", tx.tx_hash) not in journal.events
    mine(chain)
    confirmed = task.result()

    assert confirmed.tx == tx
    assert confirmed.attempts == [tx]
    assert confirmed.receipt["transactionHash"].to_0x_hex() == tx.tx_hash
    assert confirmed.receipt["status"] == 1
    assert journal.events == [("signed", tx.tx_hash), ("broadcast", tx.tx_hash), ("mined", tx.tx_hash)]
    assert registry[0].batch_id_of(registry[1], root) > 0


def test_consecutive_sends_use_consecutive_nonces(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    journal = Recorder()
    sender = Sender(chain, signer, policy(), journal)
    first = settle(chain, lambda: sender.send(anchor_call(registry)))
    second = settle(chain, lambda: sender.send(anchor_call(registry)))
    assert (first.tx.nonce, second.tx.nonce) == (0, 1)
    assert [event for event, _ in journal.events] == ["signed", "broadcast", "mined"] * 2


def test_a_transaction_reverted_in_its_block_is_an_error_and_journaled_as_mined(
    chain: Chain, registry: tuple[Registry, int], new_signer: Callable[[], LocalAccount]
) -> None:
    first, second = new_signer(), new_signer()
    root = os.urandom(32)
    journals = Recorder(), Recorder()
    winner = Background(lambda: Sender(chain, first, policy(), journals[0]).send(anchor_call(registry, root)))
    wait_until(lambda: len(pending(chain, first, second)) == 1)
    # estimated against the latest block, where the root is not anchored yet; in the block it comes second
    loser = Background(lambda: Sender(chain, second, policy(), journals[1]).send(anchor_call(registry, root)))
    wait_until(lambda: len(pending(chain, first, second)) == 2)
    mine(chain)

    assert winner.result().receipt["status"] == 1
    with pytest.raises(ChainError, match="reverted in block"):
        loser.result()
    (tx,) = journals[1].signed_txs
    assert journals[1].events == [("signed", tx.tx_hash), ("broadcast", tx.tx_hash), ("mined", tx.tx_hash)]


# ---------------------------------------------------------------------------------------------- replacing


def test_a_stuck_transaction_is_replaced_with_both_fees_raised_by_the_bump(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    journal = Recorder()
    sender = Sender(chain, signer, policy(stuck_after=1.0, bump=1.25), journal)
    task = Background(lambda: sender.send(anchor_call(registry)))

    wait_until(lambda: len(journal.signed_txs) == 2 and journal.count("broadcast", journal.signed_txs[1]))
    first, second = journal.signed_txs
    assert pending(chain, signer) == [second.tx_hash]  # the node took the replacement in place of the first
    mine(chain)
    confirmed = task.result()

    assert second.nonce == first.nonce
    assert second.max_priority_fee_per_gas == int(first.max_priority_fee_per_gas * 1.25) + 1
    assert second.max_fee_per_gas == int(first.max_fee_per_gas * 1.25) + 1
    unchanged = ("to", "data", "value", "gas", "nonce", "chainId")
    assert {k: fields(second)[k] for k in unchanged} == {k: fields(first)[k] for k in unchanged}
    assert (fields(second)["maxFeePerGas"], fields(second)["maxPriorityFeePerGas"]) == (
        second.max_fee_per_gas,
        second.max_priority_fee_per_gas,
    )
    assert confirmed.tx == second
    assert confirmed.attempts == [first, second]
    assert confirmed.receipt["transactionHash"].to_0x_hex() == second.tx_hash
    assert journal.events == [
        ("signed", first.tx_hash),
        ("broadcast", first.tx_hash),
        ("signed", second.tx_hash),
        ("broadcast", second.tx_hash),
        ("mined", second.tx_hash),
        ("replaced", first.tx_hash),
    ]


def test_a_replacement_stops_at_the_fee_ceiling(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    fees = fee_fields(chain)
    ceiling = int(fees["maxFeePerGas"] * 1.15)  # room for the 12.5% nodes demand, not for the 20% bump
    journal = Recorder()
    sender = Sender(chain, signer, policy(stuck_after=1.0, bump=1.2, max_fee_ceiling_wei=ceiling), journal)
    task = Background(lambda: sender.send(anchor_call(registry)))

    wait_until(lambda: len(journal.signed_txs) == 2 and journal.count("broadcast", journal.signed_txs[1]))
    mine(chain)
    confirmed = task.result()

    first, second = journal.signed_txs
    assert first.max_fee_per_gas == fees["maxFeePerGas"] < ceiling
    assert second.max_fee_per_gas == ceiling
    assert second.max_fee_per_gas >= first.max_fee_per_gas * MIN_BUMP
    assert second.max_priority_fee_per_gas == int(first.max_priority_fee_per_gas * 1.2) + 1
    assert confirmed.tx == second


def test_no_replacement_when_the_ceiling_leaves_no_room_the_stuck_one_is_offered_again(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    fees = fee_fields(chain)
    journal = Recorder()
    sender = Sender(chain, signer, policy(stuck_after=0.3, max_fee_ceiling_wei=fees["maxFeePerGas"]), journal)
    task = Background(lambda: sender.send(anchor_call(registry)))

    wait_until(lambda: journal.signed_txs and journal.count("broadcast", journal.signed_txs[0]) >= 3)
    (only,) = journal.signed_txs  # stuck twice, never re-signed
    assert pending(chain, signer) == [only.tx_hash]
    mine(chain)
    confirmed = task.result()
    assert confirmed.tx == only
    assert confirmed.attempts == [only]


# ---------------------------------------------------------------------------------------------- nonce taken


def test_a_nonce_used_by_another_transaction_raises_nonce_taken(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    journal = Recorder()
    sender = Sender(chain, signer, policy(stuck_after=1.5), journal)
    task = Background(lambda: sender.send(anchor_call(registry)))
    wait_until(lambda: pending(chain, signer))
    (ours,) = journal.signed_txs

    # someone else with the key: our transaction leaves the pool, theirs takes its nonce and is mined
    rpc(chain.w3, "anvil_dropTransaction", ours.tx_hash)
    theirs = signer.sign_transaction(
        {
            "type": 2,
            "chainId": chain.chain_id,
            "nonce": ours.nonce,
            "to": DEV[5].address,
            "value": 1,
            "gas": 21_000,
            "maxFeePerGas": 10 * ours.max_fee_per_gas,
            "maxPriorityFeePerGas": 10 * ours.max_priority_fee_per_gas,
        }
    )
    chain.w3.eth.send_raw_transaction(theirs.raw_transaction)
    mine(chain)

    with pytest.raises(NonceTakenError, match=rf"nonce {ours.nonce} of {signer.address} .*{ours.tx_hash}"):
        task.result()
    assert journal.events == [("signed", ours.tx_hash), ("broadcast", ours.tx_hash), ("dropped", ours.tx_hash)]
    assert chain.w3.eth.get_transaction_receipt(theirs.hash)["status"] == 1


# ---------------------------------------------------------------------------------------------- resuming


def test_resume_broadcasts_the_journaled_bytes_of_a_transaction_never_sent(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    crashed = CrashingJournal(crash_at=1)
    dying = Background(lambda: Sender(chain, signer, policy(), crashed).send(anchor_call(registry)))
    with pytest.raises(CrashError):
        dying.result()
    (tx,) = crashed.signed_txs
    assert pending(chain, signer) == []  # died between the journal and the broadcast

    journal = Recorder()
    task = Background(lambda: Sender(chain, signer, policy(), journal).resume([tx]))
    wait_until(lambda: pending(chain, signer))
    assert pending(chain, signer) == [tx.tx_hash]
    assert rpc(chain.w3, "eth_getRawTransactionByHash", tx.tx_hash) == tx.raw_tx
    mine(chain)
    confirmed = task.result()
    assert confirmed.tx == tx
    assert journal.events == [("broadcast", tx.tx_hash), ("mined", tx.tx_hash)]  # nothing signed anew


def test_resume_after_a_crash_during_replacement_sends_the_journaled_replacement(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    crashed = CrashingJournal(crash_at=2)  # the replacement is journaled, then the process dies
    dying = Background(lambda: Sender(chain, signer, policy(stuck_after=0.5), crashed).send(anchor_call(registry)))
    with pytest.raises(CrashError):
        dying.result()
    first, second = crashed.signed_txs
    assert pending(chain, signer) == [first.tx_hash]

    journal = Recorder()
    task = Background(lambda: Sender(chain, signer, policy(), journal).resume([first, second]))
    wait_until(lambda: journal.count("broadcast", second))
    assert pending(chain, signer) == [second.tx_hash]
    assert rpc(chain.w3, "eth_getRawTransactionByHash", second.tx_hash) == second.raw_tx
    mine(chain)
    confirmed = task.result()
    assert confirmed.tx == second
    assert confirmed.attempts == [first, second]
    assert journal.events == [
        ("broadcast", first.tx_hash),  # "already imported" counts as broadcast
        ("broadcast", second.tx_hash),
        ("mined", second.tx_hash),
        ("replaced", first.tx_hash),
    ]


def test_resume_of_a_transaction_mined_meanwhile_confirms_it_without_sending_again(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    crashed = Recorder()
    sender = Sender(chain, signer, policy(finality=50, finality_timeout=0.5), crashed)
    dying = Background(lambda: sender.send(anchor_call(registry)))
    wait_until(lambda: pending(chain, signer))
    (tx,) = crashed.signed_txs
    mine(chain)
    with pytest.raises(ChainError, match="did not reach 50"):  # gave up waiting for finality: mined, not confirmed
        dying.result()
    assert ("mined", tx.tx_hash) not in crashed.events

    journal = Recorder()
    confirmed = Sender(chain, signer, policy(), journal).resume([tx])
    assert confirmed.tx == tx
    assert confirmed.receipt["transactionHash"].to_0x_hex() == tx.tx_hash
    assert journal.events == [("mined", tx.tx_hash)]  # the node said "nonce too low": not broadcast again
    assert pending(chain, signer) == []


def test_resume_wants_the_attempts_of_one_nonce(chain: Chain, signer: LocalAccount) -> None:
    sender = Sender(chain, signer, policy(), Recorder())
    with pytest.raises(ValueError, match="nothing to resume"):
        sender.resume([])
    attempts = [SentTx(nonce, f"0x{nonce:064x}", "0x02", 1, 1) for nonce in (3, 4)]
    with pytest.raises(ValueError, match=r"share a nonce, found \[3, 4\]"):
        sender.resume(attempts)


# ---------------------------------------------------------------------------------------------- reorgs


def test_a_transaction_a_reorg_removes_is_broadcast_again_and_confirmed_in_its_new_block(
    chain: Chain, registry: tuple[Registry, int], signer: LocalAccount
) -> None:
    journal = Recorder()
    sender = Sender(chain, signer, policy(finality=3), journal)
    receipts: list[TxReceipt] = []
    sender.on_receipt = receipts.append
    task: Background[Confirmed] = Background(lambda: sender.send(anchor_call(registry)))
    wait_until(lambda: pending(chain, signer))
    (tx,) = journal.signed_txs
    mine(chain)
    wait_until(lambda: receipts)

    rpc(chain.w3, "anvil_reorg", 1, [])  # the block holding it is replaced by an empty one
    wait_until(lambda: journal.count("dropped", tx))
    wait_until(lambda: pending(chain, signer) == [tx.tx_hash])  # the same bytes, offered again
    mine(chain, 3)
    confirmed = task.result()

    assert confirmed.tx == tx
    assert confirmed.receipt["blockHash"] != receipts[0]["blockHash"]
    assert journal.events == [
        ("signed", tx.tx_hash),
        ("broadcast", tx.tx_hash),
        ("dropped", tx.tx_hash),
        ("broadcast", tx.tx_hash),
        ("mined", tx.tx_hash),
    ]
