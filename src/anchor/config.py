"""anchor's configuration: one typed record read from ``ANCHOR_HOME/config.toml`` and ``ANCHOR_*`` variables.

Precedence, highest first: command-line options, environment variables, ``config.toml``, defaults.
Secrets (key passwords) are accepted from the environment or a file only, never from ``config.toml``,
and are masked whenever the configuration is shown.

Two homes. The issuer and operator commands keep their data (database, keys, local node, deployment records,
receipts) in a project's ``./.anchor`` unless ``--home`` or ``ANCHOR_HOME`` says otherwise. The commands that
decide what to trust (``anchor verify``, ``anchor serve``) never read the current directory: without
``--home`` or ``ANCHOR_HOME`` they read the per-user directory, :func:`user_home` (``$XDG_CONFIG_HOME/anchor``,
else ``~/.config/anchor``), so a folder someone sent, with its own ``.anchor/config.toml`` naming a lying
endpoint or ``.anchor/deployments/*.json`` naming their registry, changes nothing
(:func:`load_with_origins` with ``per_user=True``).

Every setting is declared once, as a field of :class:`Settings`: its type, default, converter (which
checks it), environment variable and one-line docstring. The variables (:data:`ENV_VARIABLES`), the
checks, ``anchor config show`` and the class docstring are derived from those fields.

Plain dataclasses and hand-written checks, no pydantic: every command reads the configuration, and
``anchor verify`` must start in well under half a second.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal, TypeVar, get_args
from urllib.parse import urlsplit

from anchor.did_syntax import check_issuer_did, check_key_name
from anchor.errors import InvalidInputError
from anchor.networks import NETWORKS
from anchor.urls import https_url_problem, mask_url

DEFAULT_HOME = ".anchor"
#: The per-user directory's name under ``$XDG_CONFIG_HOME`` (default ``~/.config``); see :func:`user_home`.
USER_HOME_NAME = "anchor"
CONFIG_FILE = "config.toml"
#: Keys that must never be written in config.toml (they would sit on disk in plain text).
FORBIDDEN_IN_FILE = frozenset({"key_password", "private_key", "password", "mnemonic", "smtp_password"})

NetworkName = Literal["local", "amoy", "polygon"]
NETWORK_NAMES: tuple[NetworkName, ...] = get_args(NetworkName)
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


# --- conversion and checks: one function per field type, raising _FieldError with the problem ---


class _FieldError(InvalidInputError):
    """A value a field cannot take; the message says why and shows the value (never a secret).

    Raised by the converters and caught by :func:`_convert`, which reports every problem at once in one
    :class:`~anchor.errors.InvalidInputError`.
    """


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


def _amount(value: object) -> float:
    """An amount of the native token (POL, ETH): finite, >= 0 (0 stops all sending)."""
    number = _number(value)
    if not (math.isfinite(number) and number >= 0):
        raise _FieldError(f"{value!r} is not an amount >= 0 of the native token")
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


def _issuer_did(value: object) -> str:
    try:
        return check_issuer_did(_text(value))
    except _FieldError:
        raise
    except InvalidInputError as error:
        raise _FieldError(str(error)) from None


def _key_name(value: object) -> str:
    try:
        return check_key_name(_text(value))
    except _FieldError:
        raise
    except InvalidInputError as error:
        raise _FieldError(str(error)) from None


def _status_base_url(value: object) -> str:
    url = _text(value)
    problem = https_url_problem(url)
    if problem is None and urlsplit(url).query:
        problem = "must not have a query (?...)"
    if problem is not None:
        shown = (mask_url(url) if "@" in url else url)[:80]  # a public URL, unless it carries a password
        raise _FieldError(f"{shown!r} {problem}: it is the https folder URL the status lists are published under")
    return url


#: Entries of a status list: the W3C minimum (131,072, 16 KiB: herd privacy) up to the most a verifier reads
#: (anchor.credentials.status_list.MIN_ENTRIES and MAX_LIST_BYTES; a test ties them).
STATUS_LIST_SIZES = (131_072, 1 << 27)


def _status_list_size(value: object) -> int:
    size = _integer(value)
    low, high = STATUS_LIST_SIZES
    if not low <= size <= high or size % 8:
        raise _FieldError(f"{size} is not a status list size: a multiple of 8 from {low} (the W3C minimum) to {high}")
    return size


SMTP_SECURITY = ("starttls", "tls", "none")


def _smtp_security(value: object) -> str:
    text = _text(value)
    if text in SMTP_SECURITY:
        return text
    raise _FieldError(f"{text!r} is not one of {', '.join(SMTP_SECURITY)}")


def _smtp_text(value: object) -> str:
    """A host name, user name or From address: one line of printable text."""
    text = _text(value)
    if not text.strip() or len(text) > 320 or any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        raise _FieldError(f"{text[:80]!r} is not one line of printable text of at most 320 characters")
    return text


def _optional(convert: Callable[[object], _T]) -> Callable[[object], _T | None]:
    def optional(value: object) -> _T | None:
        return None if value is None else convert(value)

    return optional


# --- the table ---


class SettingSpec:
    """One row of the configuration table, kept in the metadata of its :class:`Settings` field.

    ``convert`` converts a value from any source (a string from the environment, a TOML value...) and
    checks it; ``env`` is the environment variable that sets it; ``doc`` says in one line what it does.
    ``anchor config show`` shows ``unset`` when the value is None or empty, and ``show(settings)`` instead
    of the value when given (an effective default, a masked URL). A plain class: every command reads the
    configuration, and making this a dataclass would add 0.7 ms to each start (generated methods).
    """

    __slots__ = ("convert", "doc", "env", "show", "unset")

    def __init__(
        self,
        convert: Callable[[object], object],
        env: str,
        doc: str,
        unset: str = "(none)",
        show: Callable[[Settings], object] | None = None,
    ) -> None:
        self.convert = convert
        self.env = env
        self.doc = doc
        self.unset = unset
        self.show = show


def setting(
    default: _T,
    convert: Callable[[object], object],
    *,
    env: str,
    doc: str,
    unset: str = "(none)",
    show: Callable[[Settings], object] | None = None,
) -> _T:
    """A :class:`Settings` field with its row of the table (see :class:`SettingSpec`)."""
    return field(default=default, metadata={"setting": SettingSpec(convert, env, doc, unset, show)})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """The effective configuration of one anchor invocation; every field is checked on construction."""

    home: Path = setting(
        Path(DEFAULT_HOME),
        _path,
        env="ANCHOR_HOME",
        doc="Data directory: node state, deployments, keys, database, receipts; default ./.anchor, but "
        "``anchor verify`` and ``anchor serve`` default to the per-user directory (never the current one).",
        show=lambda s: str(s.resolved_home),
    )
    network: NetworkName = setting(
        "local",
        _network,
        env="ANCHOR_NETWORK",
        doc="Network name: local (anvil, 31337), amoy (Polygon testnet, 80002), polygon (Polygon PoS, 137).",
    )
    rpc_url: str | None = setting(
        None,
        _optional(_rpc_url),
        env="ANCHOR_RPC_URL",
        doc="JSON-RPC endpoint; default: the network's public endpoint, or the local node.",
        show=lambda s: mask_url(s.effective_rpc_url),
    )
    registry: str | None = setting(
        None,
        _optional(_text),
        env="ANCHOR_REGISTRY",
        doc="Registry contract address; default: the one recorded by ``anchor deploy`` for the chain.",
        unset="(from deployments/<chain-id>.json)",
    )
    database_url: str | None = setting(
        None,
        _optional(_text),
        env="ANCHOR_DATABASE_URL",
        doc="Issuer database URL (SQLAlchemy); default: SQLite file ``anchor.db`` in ``home``.",
        show=lambda s: mask_url(s.effective_database_url),
    )
    key: str | None = setting(
        None,
        _optional(_text),
        env="ANCHOR_KEY",
        doc="Keystore name (under ``home/keys``) or path of the key that signs transactions.",
    )
    key_password: Secret | None = setting(
        None,
        _optional(_secret),
        env="ANCHOR_KEY_PASSWORD",
        doc="Keystore password, from the environment only; prompted for if unset.",
        unset="(prompt)",
    )
    key_password_file: Path | None = setting(
        None,
        _optional(_path),
        env="ANCHOR_KEY_PASSWORD_FILE",
        doc="File whose first line is the keystore password.",
    )
    issuer_did: str | None = setting(
        None,
        _optional(_issuer_did),
        env="ANCHOR_ISSUER_DID",
        doc="The issuer's DID (did:web:example.edu, or did:key:z6Mk... for local use): its credentials' issuer.id, "
        "the identifier the registry records, the signer of their proofs; must be the DID of ``home/keys/did``.",
        unset="(from keys/did/keyring.json)",
    )
    signing_key: str | None = setting(
        None,
        _optional(_key_name),
        env="ANCHOR_SIGNING_KEY",
        doc="Name of the issuer's Ed25519 key that signs credentials (``anchor did show``); default: the current "
        "one, which ``anchor did rotate`` replaces.",
        unset="(the current key)",
    )
    status_base_url: str | None = setting(
        None,
        _optional(_status_base_url),
        env="ANCHOR_STATUS_BASE_URL",
        doc="https folder URL on the issuer's website where ``anchor status publish`` files go: credentials issued "
        "get a ``credentialStatus`` entry of the status list ``<url>/<n>.json``; unset: no status entry.",
        unset="(no status lists)",
    )
    status_list_size: int = setting(
        131_072,
        _status_list_size,
        env="ANCHOR_STATUS_LIST_SIZE",
        doc="Entries of each new status list (at least the W3C minimum, 131,072; a multiple of 8).",
    )
    status_publish_dir: Path | None = setting(
        None,
        _optional(_path),
        env="ANCHOR_STATUS_PUBLISH_DIR",
        doc="Folder ``anchor status publish`` writes the status lists to by default; when set, ``anchor revoke`` "
        "publishes them there after each revocation.",
        unset="(publish by hand)",
    )
    node_port: int = setting(
        8545,
        _port,
        env="ANCHOR_NODE_PORT",
        doc="Port of the local anvil node, always bound to 127.0.0.1.",
    )
    node_block_time: float = setting(
        1.0,
        _positive,
        env="ANCHOR_NODE_BLOCK_TIME",
        doc="Seconds between local blocks; with one slot per epoch ``finalized`` trails the head by 2 blocks.",
    )
    max_fee_gwei: float | None = setting(
        None,
        _optional(_positive),
        env="ANCHOR_MAX_FEE_GWEI",
        doc="Ceiling on the max fee per gas in gwei; a transaction needing more is refused.",
        unset="(network default)",
    )
    finality: str = setting(
        "finalized",
        _finality,
        env="ANCHOR_FINALITY",
        doc="When a transaction counts as final: a block tag (finalized, safe, latest) or a number of confirmations; "
        "Polygon PoS finalizes with milestones within seconds.",
    )
    stuck_after: float = setting(
        60.0,
        _positive,
        env="ANCHOR_STUCK_AFTER",
        doc="Seconds without a receipt before a transaction is replaced with fees raised 20%.",
    )
    budget_per_run: float | None = setting(
        None,
        _optional(_amount),
        env="ANCHOR_BUDGET_PER_RUN",
        doc="Most one issuer run (``anchor batch run``, ``anchor revoke``) may spend on fees, in the native token; "
        "checked before signing each transaction against its worst case.",
        unset="(no budget)",
    )
    budget_per_day: float | None = setting(
        None,
        _optional(_amount),
        env="ANCHOR_BUDGET_PER_DAY",
        doc="Most the issuer database's transactions on the chain may spend on fees in any 24 hours, in the native "
        "token; checked before signing each transaction against its worst case.",
        unset="(no budget)",
    )
    smtp_host: str | None = setting(
        None,
        _optional(_smtp_text),
        env="ANCHOR_SMTP_HOST",
        doc="SMTP server that ``anchor deliver`` sends learners their credentials through; unset: none is e-mailed.",
        unset="(no e-mail)",
    )
    smtp_port: int | None = setting(
        None,
        _optional(_port),
        env="ANCHOR_SMTP_PORT",
        doc="Its port; default 587 with STARTTLS, 465 with TLS, 25 with none.",
        unset="(by security)",
    )
    smtp_security: str = setting(
        "starttls",
        _smtp_security,
        env="ANCHOR_SMTP_SECURITY",
        doc="starttls (upgrade the connection, refused if the server does not offer it), tls (TLS from the start), "
        "or none (only to a server on this machine).",
    )
    smtp_user: str | None = setting(
        None,
        _optional(_smtp_text),
        env="ANCHOR_SMTP_USER",
        doc="User name to log in to the SMTP server with; unset: no login.",
    )
    smtp_password: Secret | None = setting(
        None,
        _optional(_secret),
        env="ANCHOR_SMTP_PASSWORD",
        doc="SMTP password, from the environment only; prompted for if unset.",
        unset="(prompt)",
    )
    smtp_password_file: Path | None = setting(
        None,
        _optional(_path),
        env="ANCHOR_SMTP_PASSWORD_FILE",
        doc="File whose first line is the SMTP password.",
    )
    smtp_from: str | None = setting(
        None,
        _optional(_smtp_text),
        env="ANCHOR_SMTP_FROM",
        doc="The messages' sender, e.g. ``Registrar <registrar@uni.example>`` (also the envelope sender).",
    )
    smtp_rate_per_minute: float = setting(
        60.0,
        _positive,
        env="ANCHOR_SMTP_RATE_PER_MINUTE",
        doc="Most messages sent per minute (they are spaced evenly).",
    )
    smtp_ca_file: Path | None = setting(
        None,
        _optional(_path),
        env="ANCHOR_SMTP_CA_FILE",
        doc="PEM file of the certificate authorities that vouch for the SMTP server, instead of the system's.",
        unset="(the system's)",
    )

    def __post_init__(self) -> None:
        """Convert each field to its type (``home`` from a string, say) and check it; report every problem."""
        converted, problems = _convert({name: getattr(self, name) for name in _SPECS})
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
    def did_cache_dir(self) -> Path:
        """Where ``anchor verify`` and ``anchor serve`` keep the issuers' did:web documents they fetched (private)."""
        return self.resolved_home / "did-cache"

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
        return {name: _shown_value(self, name, spec) for name, spec in _SPECS.items()}


def _spec(settings_field: Field[Any]) -> SettingSpec:
    spec = settings_field.metadata["setting"]
    assert isinstance(spec, SettingSpec), f"Settings.{settings_field.name} is not declared with setting()"
    return spec


#: The table: field name -> its row, in declaration order.
_SPECS: Final[dict[str, SettingSpec]] = {f.name: _spec(f) for f in fields(Settings)}
#: field name -> conversion and check; the keys are exactly the fields of Settings.
_CONVERTERS: Final[dict[str, Callable[[object], object]]] = {name: spec.convert for name, spec in _SPECS.items()}
#: environment variable -> field name.
ENV_VARIABLES: Final[dict[str, str]] = {spec.env: name for name, spec in _SPECS.items()}
Settings.__doc__ = f"{Settings.__doc__}\n\n" + "\n".join(
    f"``{name}`` (``{spec.env}``): {spec.doc}" for name, spec in _SPECS.items()
)


def _shown_value(settings: Settings, name: str, spec: SettingSpec) -> object:
    if spec.show is not None:
        return spec.show(settings)
    value = getattr(settings, name)
    if value is None or (isinstance(value, str | Secret) and len(value) == 0):
        return spec.unset
    if isinstance(value, Secret):
        return "********"
    if isinstance(value, Path):
        return str(value)
    return value


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read ``config.toml`` under ``ANCHOR_HOME`` and the ``ANCHOR_*`` variables; apply ``overrides`` last.

    ``overrides`` whose value is None are ignored, so CLI options can be passed through unconditionally.
    Strings from the environment are converted to each field's type; every problem is reported at once.
    Without a ``home`` override or ``ANCHOR_HOME``, the home is the project's ``./.anchor``.
    """
    return load_with_origins(environ, **overrides)[0]


def load_with_origins(
    environ: Mapping[str, str] | None = None, *, per_user: bool = False, **overrides: Any
) -> tuple[Settings, dict[str, str]]:
    """:func:`load_settings`, and where each field's value came from.

    The origins map every field to ``command line`` (an override), its variable (``ANCHOR_REGISTRY``), the
    path of the ``config.toml`` that set it, or ``default``. With ``per_user``, the home defaults to
    :func:`user_home` instead of ``./.anchor``: for the commands that decide what to trust.
    """
    env = os.environ if environ is None else environ
    home_env = _SPECS["home"].env
    origins = dict.fromkeys(_SPECS, "default")
    if overrides.get("home"):
        home, origins["home"] = Path(overrides["home"]), "command line"
    elif env.get(home_env):
        home, origins["home"] = Path(env[home_env]), home_env
    elif per_user:
        home, origins["home"] = user_home(env), "per-user default"
    else:
        home = Path(DEFAULT_HOME)
    values: dict[str, Any] = {"home": home}
    config_path = home.expanduser() / CONFIG_FILE
    if config_path.is_file():
        from_file = _read_config_file(config_path)
        values |= from_file
        origins |= dict.fromkeys(from_file, str(config_path.absolute()))
    from_env = {field: name for name, field in ENV_VARIABLES.items() if env.get(name) and field != "home"}
    values |= {field: env[name] for field, name in from_env.items()}
    origins |= from_env
    given = {key: value for key, value in overrides.items() if value is not None}
    values |= given
    origins |= dict.fromkeys(given, "command line")
    converted, problems = _convert(values)
    if problems:
        raise InvalidInputError(f"invalid configuration ({config_path} and ANCHOR_* variables): {'; '.join(problems)}")
    return Settings(**converted), {name: origins[name] for name in _SPECS}


def user_home(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user directory: ``$XDG_CONFIG_HOME/anchor``, else ``$HOME/.config/anchor``; always absolute.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG Base Directory specification says: it would name a
    folder under the current directory, the one place a verifier must not take trust from.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "")
    if base and os.path.isabs(base):
        return Path(base) / USER_HOME_NAME
    home = env.get("HOME") or (os.path.expanduser("~") if environ is None else "")
    if not os.path.isabs(home):
        raise InvalidInputError(
            "no per-user directory for anchor: HOME is not set to an absolute path; "
            "set ANCHOR_HOME or pass --home (the directory holding your own config.toml and deployments/)"
        )
    return Path(home) / ".config" / USER_HOME_NAME


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
            "use ANCHOR_KEY_PASSWORD or ANCHOR_KEY_PASSWORD_FILE (ANCHOR_SMTP_PASSWORD or ANCHOR_SMTP_PASSWORD_FILE "
            "for the SMTP server), or type the password at the prompt"
        )
    data.pop("home", None)
    return data


def _convert(values: Mapping[str, object]) -> tuple[dict[str, Any], list[str]]:
    """``values`` converted to the fields' types, and a ``field: problem`` line for each one refused."""
    converted: dict[str, Any] = {}
    problems: list[str] = []
    for name, value in values.items():
        spec = _SPECS.get(name)
        if spec is None:
            problems.append(f"{name}: {_unknown_key(name)}")
            continue
        try:
            converted[name] = spec.convert(value)
        except _FieldError as error:
            problems.append(f"{name}: {error}")
    return converted, problems


def _unknown_key(name: str) -> str:
    import difflib  # only on this error path

    close = difflib.get_close_matches(name, list(_SPECS), n=1)
    return "not a setting" + (f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(_SPECS)}")
