"""The chains anchor knows: the local anvil chain, Polygon Amoy (testnet) and Polygon PoS (mainnet)."""

from __future__ import annotations

from dataclasses import dataclass

from anchor.errors import InvalidInputError


@dataclass(frozen=True)
class Network:
    """A named chain and the facts the CLI checks and uses for it."""

    name: str
    #: Chain ids the network may report (`eth_chainId`); the first is the canonical one.
    chain_ids: tuple[int, ...]
    #: RPC URL used when neither ``--rpc`` nor ``ANCHOR_RPC_URL`` names one.
    default_rpc_url: str
    #: Public chains refuse well-known development keys.
    public: bool
    #: The network's minimum priority fee (tip) in wei; Polygon PoS validators drop lower tips.
    min_priority_fee_wei: int
    #: Block explorer base URL for links, empty when there is none.
    explorer_url: str
    #: Symbol of the native currency fees are paid in.
    currency: str = "POL"
    #: Default block tag a transaction must reach before the issuer calls it anchored.
    finality_tag: str = "finalized"

    @property
    def chain_id(self) -> int:
        """The canonical chain id."""
        return self.chain_ids[0]

    def explorer_tx(self, tx_hash: str) -> str | None:
        """An explorer link for a transaction, if the network has an explorer."""
        return self._explorer("tx", tx_hash)

    def explorer_address(self, address: str) -> str | None:
        """An explorer link for an account or contract, if the network has an explorer."""
        return self._explorer("address", address)

    def explorer_block(self, number: int) -> str | None:
        """An explorer link for a block, if the network has an explorer."""
        return self._explorer("block", str(number))

    def _explorer(self, kind: str, value: str) -> str | None:
        return f"{self.explorer_url}/{kind}/{value}" if self.explorer_url else None


GWEI = 10**9

NETWORKS: dict[str, Network] = {
    "local": Network(
        name="local",
        chain_ids=(31337, 1337),
        default_rpc_url="http://127.0.0.1:8545",
        public=False,
        min_priority_fee_wei=1 * GWEI,
        explorer_url="",
        currency="ETH",
    ),
    "amoy": Network(
        name="amoy",
        chain_ids=(80002,),
        default_rpc_url="https://rpc-amoy.polygon.technology",
        public=True,
        min_priority_fee_wei=25 * GWEI,
        explorer_url="https://amoy.polygonscan.com",
    ),
    "polygon": Network(
        name="polygon",
        chain_ids=(137,),
        default_rpc_url="https://polygon-rpc.com",
        public=True,
        min_priority_fee_wei=25 * GWEI,
        explorer_url="https://polygonscan.com",
    ),
}

#: Chain ids of public networks: development keys are refused there, whatever network name was given.
PUBLIC_CHAIN_IDS = frozenset(cid for net in NETWORKS.values() if net.public for cid in net.chain_ids)


def get_network(name: str) -> Network:
    """The network called ``name``; a clear error lists the known names otherwise."""
    try:
        return NETWORKS[name]
    except KeyError:
        known = ", ".join(NETWORKS)
        raise InvalidInputError(f"unknown network {name!r}: choose one of {known}") from None


def network_for_chain_id(chain_id: int) -> Network | None:
    """The known network with this chain id, if any."""
    for network in NETWORKS.values():
        if chain_id in network.chain_ids:
            return network
    return None


def is_public_chain(chain_id: int) -> bool:
    """True for chains where real value is at stake (anything that is not a known local chain id)."""
    local = NETWORKS["local"].chain_ids
    return chain_id in PUBLIC_CHAIN_IDS or chain_id not in local
