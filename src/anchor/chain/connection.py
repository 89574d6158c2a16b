"""Connecting to a chain and sending transactions: chain-id checks, EIP-1559 fees, development-key refusal."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import HexStr
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import TimeExhausted, Web3Exception
from web3.middleware import ExtraDataToPOAMiddleware
from web3.types import TxParams, TxReceipt

from anchor.chain.keys import refuse_development_key
from anchor.config import Settings
from anchor.errors import ChainError
from anchor.networks import GWEI, Network, get_network
from anchor.urls import mask_url

#: Gas estimate head-room: storage costs of a batch can shift slightly between estimate and inclusion.
GAS_MARGIN = 1.2


@dataclass(frozen=True)
class Chain:
    """A connection to a chain whose id was checked against the network it claims to be."""

    w3: Web3
    network: Network
    chain_id: int
    rpc_url: str

    @property
    def shown_url(self) -> str:
        """The RPC URL with any API key masked."""
        return mask_url(self.rpc_url)


def connect(settings: Settings, *, timeout: float = 30.0) -> Chain:
    """Connect to ``settings``' RPC and check that ``eth_chainId`` is the network's."""
    network = get_network(settings.network)
    url = settings.effective_rpc_url
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout}))
    if network.name != "local":
        # Polygon PoS blocks carry validator data in extraData, longer than web3's 32-byte default.
        w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        chain_id = w3.eth.chain_id
    except (requests.RequestException, Web3Exception, OSError, ValueError) as error:
        hint = " (start the local chain with `anchor node start`)" if network.name == "local" else ""
        raise ChainError(f"cannot reach the RPC endpoint {mask_url(url)}{hint}: {error}") from error
    if chain_id not in network.chain_ids:
        expected = " or ".join(str(c) for c in network.chain_ids)
        raise ChainError(
            f"the RPC endpoint {mask_url(url)} is on chain {chain_id}, but network {network.name!r} is chain "
            f"{expected}: check --network and --rpc"
        )
    return Chain(w3=w3, network=network, chain_id=chain_id, rpc_url=url)


def fee_fields(chain: Chain, max_fee_ceiling_wei: int | None = None) -> dict[str, int]:
    """EIP-1559 fee fields: tip at least the network minimum, max fee twice the base fee plus tip, capped."""
    w3 = chain.w3
    base_fee = int(w3.eth.get_block("latest").get("baseFeePerGas", 0))
    try:
        tip = int(w3.eth.max_priority_fee)
    except (Web3Exception, ValueError):
        tip = 0
    tip = max(tip, chain.network.min_priority_fee_wei)
    max_fee = 2 * base_fee + tip
    if max_fee_ceiling_wei is not None:
        if base_fee + tip > max_fee_ceiling_wei:
            raise ChainError(
                f"fees are above the ceiling: base fee {base_fee / GWEI:.2f} gwei + tip {tip / GWEI:.2f} gwei > "
                f"{max_fee_ceiling_wei / GWEI:.2f} gwei (raise ANCHOR_MAX_FEE_GWEI, or wait for cheaper blocks)"
            )
        max_fee = min(max_fee, max_fee_ceiling_wei)
    return {"maxFeePerGas": max_fee, "maxPriorityFeePerGas": min(tip, max_fee)}


def build_transaction(
    chain: Chain, account: LocalAccount, call: ContractFunction, *, max_fee_ceiling_wei: int | None = None
) -> TxParams:
    """An unsigned EIP-1559 transaction for ``call`` from ``account``; gas is estimated, so a revert shows here."""
    refuse_development_key(account, chain.chain_id)
    params: TxParams = {
        "from": account.address,
        "chainId": chain.chain_id,
        "nonce": chain.w3.eth.get_transaction_count(account.address, "pending"),
        "type": 2,
    }
    params.update(fee_fields(chain, max_fee_ceiling_wei))  # type: ignore[typeddict-item]
    gas = call.estimate_gas({"from": account.address})
    params["gas"] = int(gas * GAS_MARGIN)
    tx: TxParams = call.build_transaction(params)
    return tx


def send_and_wait(
    chain: Chain, account: LocalAccount, tx: TxParams, *, timeout: float = 120.0, poll: float = 0.2
) -> TxReceipt:
    """Sign ``tx``, broadcast it and wait for its receipt; a reverted transaction is a ChainError."""
    refuse_development_key(account, chain.chain_id)
    signed = account.sign_transaction(dict(tx))  # type: ignore[arg-type]
    try:
        tx_hash = chain.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = chain.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout, poll_latency=poll)
    except TimeExhausted as error:
        raise ChainError(f"transaction {signed.hash.to_0x_hex()} not mined within {timeout:.0f} s") from error
    except (requests.RequestException, OSError) as error:
        raise ChainError(f"RPC endpoint {chain.shown_url} failed while sending: {error}") from error
    if receipt["status"] != 1:
        raise ChainError(f"transaction {tx_hash.to_0x_hex()} reverted in block {receipt['blockNumber']}")
    return receipt


def mined_receipt(chain: Chain, tx_hash: str, *, timeout: float = 120.0) -> TxReceipt:
    """The receipt of ``tx_hash``, sent by another client (ape, brownie); a reverted transaction is a ChainError."""
    try:
        receipt = chain.w3.eth.wait_for_transaction_receipt(cast(HexStr, tx_hash), timeout=timeout, poll_latency=0.2)
    except TimeExhausted as error:
        raise ChainError(f"transaction {tx_hash} not mined within {timeout:.0f} s") from error
    except (requests.RequestException, Web3Exception, OSError) as error:
        raise ChainError(f"RPC endpoint {chain.shown_url} failed: {error}") from error
    if receipt["status"] != 1:
        raise ChainError(f"transaction {tx_hash} reverted in block {receipt['blockNumber']}")
    return receipt


def wait_for_block(chain: Chain, block_number: int, tag: str = "finalized", *, timeout: float = 120.0) -> int:
    """Wait until the ``tag`` block (``finalized``, ``safe`` or ``latest``) reaches ``block_number``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        current = int(chain.w3.eth.get_block(tag)["number"])  # type: ignore[arg-type]
        if current >= block_number:
            return current
        if time.monotonic() > deadline:
            raise ChainError(f"the {tag} block is {current} after {timeout:.0f} s; waiting for {block_number}")
        time.sleep(0.5)


def block_number(chain: Chain, tag: str = "latest") -> int:
    """The number of the ``tag`` block (``latest``, ``safe``, ``finalized``)."""
    try:
        return int(chain.w3.eth.get_block(tag)["number"])  # type: ignore[arg-type]
    except (requests.RequestException, Web3Exception, OSError) as error:
        raise ChainError(f"RPC endpoint {chain.shown_url} failed: {error}") from error


def gas_and_fee(receipt: TxReceipt) -> tuple[int, int]:
    """Gas used by a mined transaction and the fee it paid, in wei."""
    gas_used = int(receipt["gasUsed"])
    return gas_used, gas_used * int(receipt.get("effectiveGasPrice", 0))


def receipt_summary(chain: Chain, receipt: TxReceipt) -> dict[str, Any]:
    """What a person wants to see of a mined transaction."""
    tx_hash = receipt["transactionHash"].to_0x_hex()
    gas_used, fee_wei = gas_and_fee(receipt)
    return {
        "tx": tx_hash,
        "block": int(receipt["blockNumber"]),
        "gas_used": gas_used,
        "fee": f"{fee_wei / 10**18:.6f} {chain.network.currency}",
        "explorer": chain.network.explorer_tx(tx_hash),
    }
