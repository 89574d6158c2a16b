"""Delivery: every learner of an anchored batch gets their credential (``anchor deliver``).

A learner whose roster row gave an e-mail address gets a short message in the credential's language
(``achievement.inLanguage``: English, French, German, Spanish, Italian, Polish, Portuguese, Finnish or
Greek; English otherwise) with the receipt attached, through the configured SMTP server: STARTTLS (refused
when the server does not offer it, never sent in clear instead) or TLS from the start, the server's
certificate checked against the system's authorities (or ``smtp_ca_file``); a plain connection only to a
server on this machine. The password comes from the same sources as key passwords, never from the
configuration file. Messages are spaced to at most ``smtp_rate_per_minute``.

Every other learner (no address, or a credential not issued from a roster) gets a folder of their files
under the delivery folder; ``to_dir`` writes a folder for every learner of the batch instead of e-mailing.

Each delivery is recorded once it happened or failed (:mod:`anchor.issuing.store.deliveries`), so a second
run sends only what was not sent. A recipient or message the server refuses is recorded against the
learner with the server's reply and reported, and the others go on; a connection lost is retried once,
then the run stops with the rest left for the next run. Delivery is at least once: a run killed between
the server's acceptance and the record sends that message again. (Bounces that arrive later, by mail,
are not read.)
"""

from __future__ import annotations

import base64
import ipaddress
import json
import smtplib
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from anchor.config import Settings
from anchor.credentials.model import lookup
from anchor.errors import AnchorError, InvalidInputError
from anchor.files import learner_folder_name, private_directory, write_json_atomically, write_private_bytes
from anchor.issuing.email_addresses import EmailAddress, parse_email
from anchor.issuing.receipts import rebuilt_tree, receipt_file_name, receipt_for
from anchor.issuing.store import BatchRecord, DeliveryItem, Store
from anchor.merkle import StandardMerkleTree

if TYPE_CHECKING:  # the chain is reached only by the caller's registry (anchor deliver)
    from anchor.chain.registry import Registry

__all__ = [
    "DEFAULT_LANGUAGE",
    "DeliveryError",
    "DeliverySummary",
    "Extras",
    "Failure",
    "Mailer",
    "SmtpConfig",
    "batch_issuer_id",
    "compose",
    "deliver",
    "message_languages",
]

DEFAULT_LANGUAGE: Final = "en"
DEFAULT_PORTS: Final = {"starttls": 587, "tls": 465, "none": 25}
SMTP_TIMEOUT: Final = 30.0
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost.localdomain"})
_MAX_FOLDER_NAME: Final = 60

Security = Literal["starttls", "tls", "none"]


class DeliveryError(AnchorError):
    """The SMTP server cannot be reached or refuses the login: nothing more can be sent in this run."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send (from the settings and the password's source: :meth:`from_settings`)."""

    host: str
    port: int
    security: Security
    sender: str
    """The From header (``Name <address>`` or an address)."""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    rate_per_minute: float = 60.0
    ca_file: Path | None = None
    timeout: float = SMTP_TIMEOUT

    def __post_init__(self) -> None:
        if self.security not in DEFAULT_PORTS:
            raise InvalidInputError(f"smtp_security {self.security!r} is not one of {', '.join(DEFAULT_PORTS)}")
        if self.security == "none" and not _is_loopback(self.host):
            raise InvalidInputError(
                f"smtp_security none sends learners' credentials in clear: only to a server on this machine, "
                f"not to {self.host!r} (use starttls or tls)"
            )
        self.sender_address  # noqa: B018 -- checked now, not at the first message

    @property
    def sender_address(self) -> EmailAddress:
        """The address of :attr:`sender`."""
        address = parseaddr(self.sender)[1]
        try:
            return parse_email(address)
        except InvalidInputError as error:
            raise InvalidInputError(f"smtp_from {self.sender!r}: {error}") from None

    @property
    def sender_name(self) -> str:
        """The display name of :attr:`sender` (may be empty)."""
        return parseaddr(self.sender)[0]

    @classmethod
    def from_settings(cls, settings: Settings, password: Callable[[], str]) -> SmtpConfig | None:
        """The configured server (None when ``smtp_host`` is unset); ``password()`` is asked only with a user."""
        if settings.smtp_host is None:
            return None
        if settings.smtp_from is None:
            raise InvalidInputError("smtp_from (ANCHOR_SMTP_FROM) is needed to send e-mail: the messages' sender")
        security: Security = settings.smtp_security  # type: ignore[assignment]  # checked by the settings
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port or DEFAULT_PORTS[security],
            security=security,
            sender=settings.smtp_from,
            user=settings.smtp_user,
            password=password() if settings.smtp_user else None,
            rate_per_minute=settings.smtp_rate_per_minute,
            ca_file=settings.smtp_ca_file,
        )


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------------------
# Messages


@cache
def _messages() -> dict[str, dict[str, str]]:
    text = resources.files("anchor.issuing").joinpath("delivery_messages.json").read_text(encoding="utf-8")
    messages: dict[str, dict[str, str]] = json.loads(text)
    return messages


def message_languages() -> tuple[str, ...]:
    """The languages messages are written in."""
    return tuple(_messages())


def _language(credential: Mapping[str, Any]) -> str:
    """The credential's language (primary subtag of ``achievement.inLanguage``) if messages exist in it."""
    tag = lookup(credential, ("credentialSubject", "achievement", "inLanguage"))
    primary = tag.split("-")[0].lower() if isinstance(tag, str) else ""
    return primary if primary in _messages() else DEFAULT_LANGUAGE


def _learner_name(credential: Mapping[str, Any]) -> str:
    identifiers = lookup(credential, ("credentialSubject", "identifier"))
    for item in identifiers if isinstance(identifiers, list) else []:
        if isinstance(item, dict) and item.get("identityType") == "name" and item.get("hashed") is False:
            return str(item.get("identityHash", ""))
    return ""


#: What the caller adds to a learner's delivery besides the receipt (files by name: the baked badge and the
#: verification link of :mod:`anchor.sharing`, which ``anchor deliver`` passes in).
Extras = Callable[[Mapping[str, Any]], Mapping[str, bytes]]
_EXTRA_TYPES: Final = {".png": ("image", "png"), ".svg": ("image", "svg+xml"), ".txt": ("text", "plain")}


def compose(
    receipt: Mapping[str, Any],
    recipient: EmailAddress,
    config: SmtpConfig,
    extras: Mapping[str, bytes] | None = None,
) -> EmailMessage:
    """The message carrying one receipt to its learner, in the credential's language; ``extras`` attached too."""
    texts = _messages()[_language(receipt)]
    name = _one_line(_learner_name(receipt))
    title = _one_line(lookup(receipt, ("credentialSubject", "achievement", "name")) or receipt.get("name", ""))
    issuer = _one_line(lookup(receipt, ("issuer", "name")) or "")
    file_name = receipt_file_name(str(receipt.get("id", "credential")))
    values = {"name": name, "title": title, "issuer": issuer, "file": file_name}
    sender = config.sender_address
    message = EmailMessage()
    message["Subject"] = texts["subject"].format_map(values)
    message["From"] = Address(config.sender_name, addr_spec=sender.ascii)
    message["To"] = Address(name, addr_spec=recipient.ascii)
    message["Date"] = format_datetime(datetime.now(UTC), usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.ascii_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(texts["body"].format_map(values), cte="quoted-printable")
    data = json.dumps(receipt, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    message.add_attachment(data, maintype="application", subtype="json", filename=file_name)
    for name, content in (extras or {}).items():
        maintype, subtype = _EXTRA_TYPES.get(Path(name).suffix, ("application", "octet-stream"))
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def _one_line(value: object) -> str:
    """Text for a header: a credential's text may hold line breaks, which would end the header (or add one)."""
    return " ".join(str(value).split())


# --------------------------------------------------------------------------------------------------------
# SMTP


class Mailer:
    """One SMTP session (reopened when it drops): TLS as configured, logged in, sending one message at a time."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Connect, secure and log in; :class:`DeliveryError` saying why not."""
        self.close()
        config = self.config
        where = f"SMTP server {config.host}:{config.port}"
        try:
            context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
        except (OSError, ssl.SSLError) as error:
            raise DeliveryError(f"smtp_ca_file {config.ca_file}: {error}") from None
        try:
            if config.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
            else:
                smtp = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
            self._smtp = smtp
            smtp.ehlo()
            if config.security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(f"{where} does not offer STARTTLS: refusing to send credentials in clear")
                smtp.starttls(context=context)
                smtp.ehlo()
            if config.user:
                _login(smtp, config.user, config.password or "", where)
        except smtplib.SMTPAuthenticationError as error:
            self.close()
            raise DeliveryError(f"{where} refused the login of {config.user!r}: {_reply(error)}") from None
        except smtplib.SMTPNotSupportedError:
            self.close()
            raise DeliveryError(f"{where} offers no login (AUTH): unset smtp_user, or use another server") from None
        except ssl.SSLError as error:
            self.close()
            raise DeliveryError(f"{where}: TLS failed: {error.reason or error}") from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise DeliveryError(f"cannot reach the {where}: {_reply(error)}") from None
        except DeliveryError:
            self.close()
            raise

    def send(self, message: EmailMessage, recipient: EmailAddress) -> None:
        """Send one message to one recipient (opening the session if needed); smtplib's errors pass through."""
        if self._smtp is None:
            self.open()
        assert self._smtp is not None
        self._smtp.send_message(message, from_addr=self.config.sender_address.ascii, to_addrs=[recipient.ascii])

    def close(self) -> None:
        """Say goodbye (quietly: the session may be gone already)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _login(smtp: smtplib.SMTP, user: str, password: str, where: str) -> None:
    """Log in; a user or password beyond ASCII goes as UTF-8 with AUTH PLAIN (RFC 4616; smtplib sends ASCII only)."""
    if user.isascii() and password.isascii():
        smtp.login(user, password)
        return
    if not smtp.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
    if "PLAIN" not in smtp.esmtp_features.get("auth", "").upper().split():
        raise DeliveryError(
            f"{where}: the user name or password is not plain ASCII, which only AUTH PLAIN carries, and the server "
            "does not offer it"
        )
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = smtp.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _reply(error: BaseException) -> str:
    """What the server said, as one line of text."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(_reply_text(code, text) for code, text in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply_text(error.smtp_code, error.smtp_error)
    return str(error) or type(error).__name__


def _reply_text(code: int, text: bytes | str) -> str:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {' '.join(shown.split())}"


# --------------------------------------------------------------------------------------------------------
# Delivering a batch


def batch_issuer_id(registry: Registry, batch: BatchRecord) -> int:
    """The registry's id of the issuer that anchored ``batch`` (what its receipts name), read from the chain.

    The registry must be the batch's, on its chain, and hold the batch's root under its on-chain id.
    """
    if registry.chain.chain_id != batch.chain_id or registry.address.lower() != batch.registry.lower():
        raise InvalidInputError(
            f"batch {batch.id} was anchored in registry {batch.registry} on chain {batch.chain_id}, not in "
            f"{registry.address} on chain {registry.chain.chain_id}: pass that chain's --network or --rpc"
        )
    if batch.onchain_batch_id is None:
        raise InvalidInputError(f"batch {batch.id} is {batch.state}, not anchored")
    record = registry.batch(batch.onchain_batch_id)
    if record.root.lower() != batch.root.lower():
        raise InvalidInputError(
            f"batch {batch.id}: the registry's batch {batch.onchain_batch_id} has root {record.root}, the issuer "
            f"database {batch.root}: not this database's batch"
        )
    return record.issuer_id


@dataclass(frozen=True)
class Failure:
    """A learner the server would not take a message for."""

    credential_id: str
    address: str
    error: str


@dataclass
class DeliverySummary:
    """What one ``deliver`` did."""

    emailed: int = 0
    folders: int = 0
    already: int = 0
    """Delivered by an earlier run (left alone)."""
    failures: list[Failure] = field(default_factory=list)
    folder: Path | None = None


def deliver(
    store: Store,
    batch: BatchRecord,
    issuer_id: int,
    folder: Path,
    *,
    mailer: Mailer | None = None,
    everyone_to_folder: bool = False,
    on_delivered: Callable[[DeliveryItem, str, str | None], None] | None = None,
    extras: Extras | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeliverySummary:
    """Deliver every credential of an anchored batch not delivered yet (see the module doc).

    ``folder`` receives the folders of learners without an address (with ``everyone_to_folder``, of every
    learner: then nothing is e-mailed, and learners with an address keep their e-mail record). ``mailer`` is
    the SMTP session, needed as soon as a learner with an address is met. ``on_delivered(item, where,
    error)`` hears of each delivery or failure. ``extras(receipt)`` gives files to attach or write besides the
    receipt (the baked badge, the verification link).
    """
    if batch.state != "anchored" or batch.onchain_batch_id is None:
        raise InvalidInputError(
            f"batch {batch.id} is {batch.state}, not anchored: deliver once `anchor batch run` has made it final"
        )
    summary = DeliverySummary(folder=folder)
    tree = rebuilt_tree(store, batch)  # from the stored digests, checked against the batch's root
    config = mailer.config if mailer is not None else None
    interval = 60.0 / config.rate_per_minute if config is not None else 0.0
    next_send = clock()
    after = -1
    while page := store.delivery_items(batch.id, after):
        for item in page:
            after = item.index
            if item.email is not None and not everyone_to_folder:
                if item.state == "sent" and item.method == "email":
                    summary.already += 1
                    continue
                if mailer is None:
                    raise InvalidInputError(
                        "learners of this batch have e-mail addresses but no SMTP server is configured "
                        "(smtp_host, smtp_from; see `anchor config show`), or pass --to-dir to write their files"
                    )
                wait = next_send - clock()
                if wait > 0:
                    sleep(wait)
                next_send = max(next_send, clock()) + interval
                error = _send(mailer, store, batch, tree, issuer_id, item, extras)
                if error is None:
                    summary.emailed += 1
                else:
                    summary.failures.append(Failure(item.credential_id, item.email, error))
                if on_delivered is not None:
                    on_delivered(item, item.email, error)
                continue
            if item.state == "sent" and item.method == "folder" and not everyone_to_folder:
                summary.already += 1
                continue
            receipt = receipt_for(batch, tree, item.index, issuer_id, item.document)
            where = _write_folder(folder, receipt, item, extras(receipt) if extras is not None else {})
            if item.email is None:
                store.record_delivery(item.credential_id, "folder", "sent", str(where))
            summary.folders += 1
            if on_delivered is not None:
                on_delivered(item, str(where), None)
    return summary


def _send(
    mailer: Mailer,
    store: Store,
    batch: BatchRecord,
    tree: StandardMerkleTree,
    issuer_id: int,
    item: DeliveryItem,
    extras: Extras | None = None,
) -> str | None:
    """E-mail one learner and record it: None when sent, else the error recorded.

    A session that dropped (an idle timeout, a restarted server) is reopened and the message sent again,
    once; :class:`DeliveryError` when that fails too.
    """
    assert item.email is not None
    try:
        recipient = parse_email(item.email)
    except InvalidInputError as error:  # checked at import; only a database edited by hand gets here
        store.record_delivery(item.credential_id, "email", "failed", item.email, str(error))
        return str(error)
    receipt = receipt_for(batch, tree, item.index, issuer_id, item.document)
    message = compose(receipt, recipient, mailer.config, extras(receipt) if extras is not None else None)
    try:
        _send_reopening(mailer, message, recipient)
    except _REFUSALS as refused:
        reply = _reply(refused)
        store.record_delivery(item.credential_id, "email", "failed", item.email, reply)
        return reply
    store.record_delivery(item.credential_id, "email", "sent", item.email)
    return None


#: What the server says about one message (a recipient, the sender, the content): recorded, the run goes on.
_REFUSALS: Final = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException, smtplib.SMTPNotSupportedError)


def _send_reopening(mailer: Mailer, message: EmailMessage, recipient: EmailAddress) -> None:
    """Send; when the session is gone (an idle timeout, a restarted server), reopen it and send again, once.

    smtplib's errors are all ``OSError``s: a refusal (:data:`_REFUSALS`) passes through, anything else
    means the connection is lost.
    """
    try:
        mailer.send(message, recipient)
        return
    except _REFUSALS:
        raise
    except OSError:
        pass
    mailer.open()  # a DeliveryError here stops the run: the server is gone
    try:
        mailer.send(message, recipient)
    except _REFUSALS:
        raise
    except OSError as lost:
        raise DeliveryError(
            f"the SMTP server dropped the connection twice ({_reply(lost)}): stopping; "
            "run `anchor deliver` again to send the rest"
        ) from None


def _write_folder(base: Path, receipt: Mapping[str, Any], item: DeliveryItem, extras: Mapping[str, bytes]) -> Path:
    """Write a learner's files into ``base/<name>-<id>/``, private to the owner; the folder."""
    private_directory(base)
    folder = private_directory(base / _folder_name(_learner_name(receipt), item.credential_id))
    write_json_atomically(folder / receipt_file_name(item.credential_id), receipt, private=True)
    for name, content in extras.items():
        write_private_bytes(folder / name, content)
    return folder


def _folder_name(name: str, credential_id: str) -> str:
    """A learner's folder name: their name's letters and digits (any script), then the credential's id's tail."""
    return learner_folder_name(name, credential_id, longest=_MAX_FOLDER_NAME)
