"""anchor's configuration: one typed model read from ``ANCHOR_HOME/config.toml`` and ``ANCHOR_*`` variables.

Precedence, highest first: command-line options, environment variables, ``config.toml``, defaults.
Secrets (key passwords) are accepted from the environment or a file only, never from ``config.toml``,
and are masked whenever the configuration is shown.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from anchor.errors import InvalidInputError
from anchor.networks import NETWORKS

DEFAULT_HOME = ".anchor"
CONFIG_FILE = "config.toml"
#: Keys that must never be written in config.toml (they would sit on disk in plain text).
FORBIDDEN_IN_FILE = frozenset({"key_password", "private_key", "password", "mnemonic"})


class Settings(BaseModel):
    """The effective configuration of one anchor invocation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    home: Path = Field(default=Path(DEFAULT_HOME))
    """Data directory: node state, deployments, keys, database, receipts (``ANCHOR_HOME``)."""

    network: Literal["local", "amoy", "polygon"] = "local"
    """Network name: local (anvil, 31337), amoy (Polygon testnet, 80002), polygon (Polygon PoS, 137)."""

    rpc_url: str | None = None
    """JSON-RPC endpoint; default: the network's public endpoint, or the local node (``ANCHOR_RPC_URL``)."""

    registry: str | None = None
    """Registry contract address; default: the one recorded by ``anchor deploy`` for the chain."""

    database_url: str | None = None
    """Issuer database URL (SQLAlchemy); default: SQLite file ``anchor.db`` in ``home`` (``ANCHOR_DATABASE_URL``)."""

    key: str | None = None
    """Keystore name (under ``home/keys``) or path of the key that signs transactions (``ANCHOR_KEY``)."""

    key_password: SecretStr | None = None
    """Keystore password, from the environment only (``ANCHOR_KEY_PASSWORD``); prompted for if unset."""

    key_password_file: Path | None = None
    """File whose first line is the keystore password (``ANCHOR_KEY_PASSWORD_FILE``)."""

    node_port: int = Field(default=8545, ge=1, le=65535)
    """Port of the local anvil node, always bound to 127.0.0.1 (``ANCHOR_NODE_PORT``)."""

    node_block_time: float = Field(default=1.0, gt=0)
    """Seconds between local blocks; with one slot per epoch ``finalized`` trails the head by 2 blocks."""

    max_fee_gwei: float | None = Field(default=None, gt=0)
    """Ceiling on the max fee per gas in gwei; a transaction needing more is refused (``ANCHOR_MAX_FEE_GWEI``)."""

    finality: str = "finalized"
    """When a transaction counts as final: a block tag (finalized, safe, latest) or a number of confirmations
    (``ANCHOR_FINALITY``). Polygon PoS finalizes with milestones within seconds; ``finalized`` is the default."""

    stuck_after: float = Field(default=60.0, gt=0)
    """Seconds without a receipt before a transaction is replaced with fees raised 20% (``ANCHOR_STUCK_AFTER``)."""

    @field_validator("finality")
    @classmethod
    def _check_finality(cls, value: str) -> str:
        if value in {"finalized", "safe", "latest"} or (value.isdigit() and int(value) >= 1):
            return value
        raise ValueError(f"{value!r} is neither finalized, safe, latest nor a number of confirmations >= 1")

    @property
    def finality_policy(self) -> str | int:
        """``finality`` as a block tag or a confirmation count."""
        return int(self.finality) if self.finality.isdigit() else self.finality

    @property
    def receipts_dir(self) -> Path:
        """Default folder for receipts written by ``anchor batch run``."""
        return self.resolved_home / "receipts"

    @field_validator("rpc_url")
    @classmethod
    def _check_rpc_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in {"http", "https", "ws", "wss"}:
            raise ValueError(f"{value!r} is not an http(s) or ws(s) URL")
        return value

    @property
    def resolved_home(self) -> Path:
        """``home`` as an absolute path."""
        return self.home.expanduser().resolve()

    @property
    def deployments_dir(self) -> Path:
        """Where ``anchor deploy`` records deployments, one ``<chain-id>.json`` each."""
        return self.resolved_home / "deployments"

    @property
    def keys_dir(self) -> Path:
        """Where encrypted keystores live."""
        return self.resolved_home / "keys"

    @property
    def node_dir(self) -> Path:
        """State, pid and log of the local anvil node."""
        return self.resolved_home / "node"

    @property
    def effective_rpc_url(self) -> str:
        """``rpc_url`` if set, else the network's default (the local node for ``local``)."""
        if self.rpc_url:
            return self.rpc_url
        if self.network == "local":
            return f"http://127.0.0.1:{self.node_port}"
        return NETWORKS[self.network].default_rpc_url

    @property
    def effective_database_url(self) -> str:
        """``database_url`` if set, else the SQLite file in ``home``."""
        return self.database_url or f"sqlite:///{self.resolved_home / 'anchor.db'}"

    def shown(self) -> dict[str, Any]:
        """The configuration as shown to a person: secrets and URL credentials masked."""
        values: dict[str, Any] = {
            "home": str(self.resolved_home),
            "network": self.network,
            "rpc_url": mask_url(self.effective_rpc_url),
            "registry": self.registry or "(from deployments/<chain-id>.json)",
            "database_url": mask_url(self.effective_database_url),
            "key": self.key or "(none)",
            "key_password": "********" if self.key_password else "(prompt)",
            "key_password_file": str(self.key_password_file) if self.key_password_file else "(none)",
            "node_port": self.node_port,
            "node_block_time": self.node_block_time,
            "max_fee_gwei": self.max_fee_gwei if self.max_fee_gwei is not None else "(network default)",
            "finality": self.finality,
            "stuck_after": self.stuck_after,
        }
        return values


ENV_VARIABLES: dict[str, str] = {
    "ANCHOR_NETWORK": "network",
    "ANCHOR_RPC_URL": "rpc_url",
    "ANCHOR_REGISTRY": "registry",
    "ANCHOR_DATABASE_URL": "database_url",
    "ANCHOR_KEY": "key",
    "ANCHOR_KEY_PASSWORD": "key_password",
    "ANCHOR_KEY_PASSWORD_FILE": "key_password_file",
    "ANCHOR_NODE_PORT": "node_port",
    "ANCHOR_NODE_BLOCK_TIME": "node_block_time",
    "ANCHOR_MAX_FEE_GWEI": "max_fee_gwei",
    "ANCHOR_FINALITY": "finality",
    "ANCHOR_STUCK_AFTER": "stuck_after",
}


def mask_url(url: str) -> str:
    """``url`` with any password, and any path or query that may carry an API key, masked."""
    parts = urlsplit(url)
    if parts.scheme in {"sqlite", ""}:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        credentials, host = netloc.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        netloc = f"{user}:****@{host}"
    path = parts.path if len(parts.path) <= 1 or parts.scheme.startswith("postgres") else "/****"
    query = "****" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, path, query, ""))


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read ``config.toml`` under ``ANCHOR_HOME`` and the ``ANCHOR_*`` variables; apply ``overrides`` last.

    ``overrides`` whose value is None are ignored, so CLI options can be passed through unconditionally.
    """
    env = os.environ if environ is None else environ
    home = Path(overrides.get("home") or env.get("ANCHOR_HOME") or DEFAULT_HOME)
    values: dict[str, Any] = {"home": home}
    config_path = home.expanduser() / CONFIG_FILE
    if config_path.is_file():
        values |= _read_config_file(config_path)
    values |= {field: env[name] for name, field in ENV_VARIABLES.items() if env.get(name)}
    values |= {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**values)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)
        )
        raise InvalidInputError(f"invalid configuration ({config_path} and ANCHOR_* variables): {problems}") from None


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidInputError(f"cannot read {path}: {error}") from error
    secret_keys = sorted(FORBIDDEN_IN_FILE & data.keys())
    if secret_keys:
        raise InvalidInputError(
            f"{path} holds {', '.join(secret_keys)}: secrets never go in the config file; "
            "use ANCHOR_KEY_PASSWORD or ANCHOR_KEY_PASSWORD_FILE, or type the password at the prompt"
        )
    data.pop("home", None)
    return data
