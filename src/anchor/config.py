"""anchor's configuration: one typed record read from ``ANCHOR_HOME/config.toml`` and ``ANCHOR_*`` variables.

Precedence, highest first: command-line options, environment variables, ``config.toml``, defaults.
Secrets (key passwords) are accepted from the environment or a file only, never from ``config.toml``,
and are masked whenever the configuration is shown.

Plain dataclasses and hand-written checks, no pydantic: every command reads the configuration, and
``anchor verify`` must start in well under half a second.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from anchor.errors import InvalidInputError
from anchor.networks import NETWORKS

DEFAULT_HOME = ".anchor"
CONFIG_FILE = "config.toml"
#: Keys that must never be written in config.toml (they would sit on disk in plain text).
FORBIDDEN_IN_FILE = frozenset({"key_password", "private_key", "password", "mnemonic"})

NetworkName = Literal["local", "amoy", "polygon"]
NETWORK_NAMES: tuple[NetworkName, ...] = ("local", "amoy", "polygon")
FINALITY_TAGS = ("finalized", "safe", "latest")
RPC_SCHEMES = ("http", "https", "ws", "wss")

_T = TypeVar("_T")


class Secret:
    """A string that does not show itself: ``repr`` and ``str`` are masked; read it with ``get_secret_value()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The secret itself."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The effective configuration of one anchor invocation; every field is checked on construction."""

    home: Path = Path(DEFAULT_HOME)
    """Data directory: node state, deployments, keys, database, receipts (``ANCHOR_HOME``)."""

    network: NetworkName = "local"
    """Network name: local (anvil, 31337), amoy (Polygon testnet, 80002), polygon (Polygon PoS, 137)."""

    rpc_url: str | None = None
    """JSON-RPC endpoint; default: the network's public endpoint, or the local node (``ANCHOR_RPC_URL``)."""

    registry: str | None = None
    """Registry contract address; default: the one recorded by ``anchor deploy`` for the chain."""

    database_url: str | None = None
    """Issuer database URL (SQLAlchemy); default: SQLite file ``anchor.db`` in ``home`` (``ANCHOR_DATABASE_URL``)."""

    key: str | None = None
    """Keystore name (under ``home/keys``) or path of the key that signs transactions (``ANCHOR_KEY``)."""

    key_password: Secret | None = None
    """Keystore password, from the environment only (``ANCHOR_KEY_PASSWORD``); prompted for if unset."""

    key_password_file: Path | None = None
    """File whose first line is the keystore password (``ANCHOR_KEY_PASSWORD_FILE``)."""

    node_port: int = 8545
    """Port of the local anvil node, always bound to 127.0.0.1 (``ANCHOR_NODE_PORT``)."""

    node_block_time: float = 1.0
    """Seconds between local blocks; with one slot per epoch ``finalized`` trails the head by 2 blocks."""

    max_fee_gwei: float | None = None
    """Ceiling on the max fee per gas in gwei; a transaction needing more is refused (``ANCHOR_MAX_FEE_GWEI``)."""

    finality: str = "finalized"
    """When a transaction counts as final: a block tag (finalized, safe, latest) or a number of confirmations
    (``ANCHOR_FINALITY``). Polygon PoS finalizes with milestones within seconds; ``finalized`` is the default."""

    stuck_after: float = 60.0
    """Seconds without a receipt before a transaction is replaced with fees raised 20% (``ANCHOR_STUCK_AFTER``)."""

    def __post_init__(self) -> None:
        """Convert each field to its type (``home`` from a string, say) and check it; report every problem."""
        converted, problems = _convert({f.name: getattr(self, f.name) for f in fields(self)})
        if problems:
            raise InvalidInputError(f"invalid settings: {'; '.join(problems)}")
        for name, value in converted.items():
            if value is not getattr(self, name):
                object.__setattr__(self, name, value)

    @property
    def finality_policy(self) -> str | int:
        """``finality`` as a block tag or a confirmation count."""
        return int(self.finality) if self.finality.isdigit() else self.finality

    @property
    def receipts_dir(self) -> Path:
        """Default folder for receipts written by ``anchor batch run``."""
        return self.resolved_home / "receipts"

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
    Strings from the environment are converted to each field's type; every problem is reported at once.
    """
    env = os.environ if environ is None else environ
    home = Path(overrides.get("home") or env.get("ANCHOR_HOME") or DEFAULT_HOME)
    values: dict[str, Any] = {"home": home}
    config_path = home.expanduser() / CONFIG_FILE
    if config_path.is_file():
        values |= _read_config_file(config_path)
    values |= {field: env[name] for name, field in ENV_VARIABLES.items() if env.get(name)}
    values |= {key: value for key, value in overrides.items() if value is not None}
    converted, problems = _convert(values)
    if problems:
        raise InvalidInputError(f"invalid configuration ({config_path} and ANCHOR_* variables): {'; '.join(problems)}")
    return Settings(**converted)


def _read_config_file(path: Path) -> dict[str, Any]:
    import tomllib  # only when there is a file to read

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


# --- conversion and checks: one function per field type, raising _FieldError with the problem ---


class _FieldError(Exception):
    """A value a field cannot take; the message says why and shows the value (never a secret)."""


def _shown(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _FieldError(f"expected a string, got {_shown(value)}")


def _path(value: object) -> Path:
    if isinstance(value, Path):
        return value
    if isinstance(value, str) and value:
        return Path(value)
    raise _FieldError(f"expected a non-empty path, got {_shown(value)}")


def _secret(value: object) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise _FieldError(f"expected a string, got a {type(value).__name__}")  # the value itself is not shown


#: Numbers as people write them in ASCII: Python's int() and float() would also take "8_545" or "٨٥٤٥".
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _integer(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    raise _FieldError(f"expected an integer, got {_shown(value)}")


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return float(value.strip())
    raise _FieldError(f"expected a number, got {_shown(value)}")


def _port(value: object) -> int:
    port = _integer(value)
    if not 1 <= port <= 65535:
        raise _FieldError(f"{port} is not a port number (1..65535)")
    return port


def _positive(value: object) -> float:
    number = _number(value)
    if not (math.isfinite(number) and number > 0):
        raise _FieldError(f"{value!r} is not a number > 0")
    return number


def _network(value: object) -> NetworkName:
    for name in NETWORK_NAMES:
        if value == name:
            return name
    raise _FieldError(f"{value!r} is not one of {', '.join(NETWORK_NAMES)}")


def _rpc_url(value: object) -> str:
    url = _text(value)
    scheme = urlsplit(url).scheme
    if scheme not in RPC_SCHEMES:
        raise _FieldError(f"{mask_url(url)!r} is not an http(s) or ws(s) URL (scheme {scheme!r})")
    return url


def _finality(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # `finality = 12` in config.toml
    text = _text(value)
    if text in FINALITY_TAGS or (text.isascii() and text.isdigit() and int(text) >= 1):
        return text
    raise _FieldError(f"{text!r} is neither {', '.join(FINALITY_TAGS)} nor a number of confirmations >= 1")


def _optional(convert: Callable[[object], _T]) -> Callable[[object], _T | None]:
    def optional(value: object) -> _T | None:
        return None if value is None else convert(value)

    return optional


#: field name -> conversion and check; the keys are exactly the fields of Settings.
_CONVERTERS: dict[str, Callable[[object], object]] = {
    "home": _path,
    "network": _network,
    "rpc_url": _optional(_rpc_url),
    "registry": _optional(_text),
    "database_url": _optional(_text),
    "key": _optional(_text),
    "key_password": _optional(_secret),
    "key_password_file": _optional(_path),
    "node_port": _port,
    "node_block_time": _positive,
    "max_fee_gwei": _optional(_positive),
    "finality": _finality,
    "stuck_after": _positive,
}


def _convert(values: Mapping[str, object]) -> tuple[dict[str, Any], list[str]]:
    """``values`` converted to the fields' types, and a ``field: problem`` line for each one refused."""
    converted: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        convert = _CONVERTERS.get(name)
        if convert is None:
            problems.append(f"{name}: {_unknown_key(name)}")
            continue
        try:
            converted[name] = convert(value)
        except _FieldError as error:
            problems.append(f"{name}: {error}")
    return converted, problems


def _unknown_key(name: str) -> str:
    import difflib  # only on this error path

    close = difflib.get_close_matches(name, list(_CONVERTERS), n=1)
    return "not a setting" + (f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(_CONVERTERS)}")
