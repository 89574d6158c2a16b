"""Delivery of anchored credentials to learners: a real SMTP server (aiosmtpd) on localhost, and folders."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from anchor.config import load_settings
from anchor.credentials.receipt import split_receipt
from anchor.errors import InvalidInputError
from anchor.issuing import courses, delivery, receipts, rosters
from anchor.issuing.delivery import DeliveryError, Mailer, SmtpConfig
from anchor.issuing.email_addresses import parse_email
from anchor.issuing.store import BatchRecord, Store
from anchor.merkle import StandardMerkleTree

from support.db import BACKENDS, fresh_database
from support.rosters import allowed_grades, course_template, write_csv
from support.smtp import Certificates, make_certificates, smtp_server

CHAIN = 31337
REGISTRY = "0x5fbdb2315678afecb367f032d93f642f64180aa3"
SIGNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ISSUER_ID = 3
SENDER = "Registrar’s Office <registrar@uni.example>"
#: One learner per country (the course's language): name, e-mail address (None: no address).
LEARNERS = {
    "DE": ("Jürgen Müller-Weiß", "juergen@uni.example"),
    "FR": ("Anaïs Lefèvre-Çelik", "anais@uni.example"),
    "GR": ("Γιώργος Παπαδόπουλος", "giorgos@xn--bcher-kva.example"),
    "PL": ("Łukasz Żółć", None),
    "FI": ("Päivi Jääskeläinen", "paivi@uni.example"),
}
SUBJECTS = {
    "DE": "Ihr Microcredential: ",
    "FR": "Votre micro-certification : ",
    "GR": "Το μικροδιαπιστευτήριό σας: ",
    "FI": "Mikrotutkintosi: ",
}


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'issuer.db'}") as opened:
        yield opened


def anchored_batch(store: Store, folder: Path, learners: dict[str, tuple[str, str | None]] = LEARNERS) -> BatchRecord:
    """Import one roster per learner's country (its course in that language), then a batch marked anchored."""
    for country, (name, email) in learners.items():
        template = course_template(country)
        course = courses.save_course(store, f"course-{country.lower()}", template)[0]
        roster = write_csv(
            folder / f"{country}.csv",
            [["Name", "Email", "Grade"], [name, email or "", allowed_grades(template)[0]]],
        )
        summary = rosters.import_roster(store, course, roster, now=datetime(2025, 7, 1, tzinfo=UTC))
        assert summary.intake.queued == 1, summary

    def tree(digests: list[bytes]) -> tuple[str, str]:
        built = StandardMerkleTree.of([(d, i) for i, d in enumerate(digests)], ["bytes32", "uint256"])
        return built.root, json.dumps(built.dump())

    batch = store.build_batch(100, CHAIN, REGISTRY, SIGNER, tree)
    assert batch is not None
    return store.update_batch(
        batch.id,
        state="anchored",
        onchain_batch_id=7,
        tx_hash="0x" + "ab" * 32,
        block_number=99,
        anchored_at=1751360000,
    )


def config(port: int, **changes: Any) -> SmtpConfig:
    settings = {"host": "127.0.0.1", "port": port, "security": "none", "sender": SENDER, "rate_per_minute": 60_000}
    return SmtpConfig(**{**settings, **changes})


def attachment(message: Any) -> tuple[str, dict[str, Any]]:
    (part,) = list(message.iter_attachments())
    assert part.get_content_type() == "application/json"
    return part.get_filename(), json.loads(part.get_content())


def test_each_learner_gets_a_message_in_the_credentials_language_with_its_receipt(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path)
    with smtp_server() as server, Mailer(config(server.port)) as mailer:
        summary = delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer)
    assert (summary.emailed, summary.folders, summary.failures) == (4, 1, [])
    tree = receipts.batch_tree(store, batch)
    documents = {item.credential_id: item for item in store.delivery_items(batch.id)}
    by_address = {item.recipients[0]: item for item in server.received}
    assert set(by_address) == {
        "juergen@uni.example",
        "anais@uni.example",
        "giorgos@xn--bcher-kva.example",
        "paivi@uni.example",
    }
    for country, (name, email) in LEARNERS.items():
        if email is None:
            continue
        received = by_address[email]
        assert received.sender == "registrar@uni.example"
        assert received.data.isascii()  # headers RFC 2047-encoded, body quoted-printable, attachment base64
        message = received.message
        assert str(message["Subject"]).startswith(SUBJECTS[country])
        assert message["To"].addresses[0].display_name == name
        assert message["From"].addresses[0].display_name == "Registrar’s Office"
        assert message["Auto-Submitted"] == "auto-generated"
        body = message.get_body(("plain",)).get_content()
        assert name in body
        file_name, receipt = attachment(message)
        assert file_name in body
        item = documents[receipt["id"]]
        assert receipt == receipts.receipt_for(batch, tree, item.index, ISSUER_ID, item.document)
        proof = split_receipt(receipt)[1]
        assert (proof.batch_id, proof.issuer_id, proof.index) == (7, ISSUER_ID, item.index)
    assert "Dear" not in "".join(m.message.get_body(("plain",)).get_content() for m in server.received)
    (folder,) = list((tmp_path / "out").iterdir())
    assert folder.name.startswith("Łukasz_Żółć-")
    (file,) = list(folder.iterdir())
    assert (
        json.loads(file.read_text(encoding="utf-8"))["credentialSubject"]["identifier"][0]["identityHash"]
        == "Łukasz Żółć"
    )
    assert (folder.stat().st_mode & 0o777, file.stat().st_mode & 0o777) == (0o700, 0o600)
    assert store.delivery_counts(batch.id) == {"email": 4, "folder": 1, "failed": 0, "pending": 0}


def test_english_is_the_fallback_and_names_are_never_format_strings(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path, {"DE": ("{issuer} {0} %s", "x@uni.example")})
    (item,) = store.delivery_items(batch.id)
    receipt = receipts.receipt_for(batch, receipts.batch_tree(store, batch), 0, ISSUER_ID, item.document)
    receipt["credentialSubject"]["achievement"]["inLanguage"] = "sv-SE"
    message = delivery.compose(receipt, parse_email("x@uni.example"), config(25))
    assert str(message["Subject"]).startswith("Your micro-credential: ")
    assert message.get_body(("plain",)).get_content().startswith("Dear {issuer} {0} %s,")
    assert set(delivery.message_languages()) >= {"en", "fr", "de", "es", "it", "pl", "pt", "fi", "el"}


def test_line_breaks_in_a_title_or_name_cannot_add_headers(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path, {"DE": ("Ann Example", "x@uni.example")})
    (item,) = store.delivery_items(batch.id)
    receipt = receipts.receipt_for(batch, receipts.batch_tree(store, batch), 0, ISSUER_ID, item.document)
    receipt["credentialSubject"]["achievement"]["name"] = "Data\r\nBcc: everyone@uni.example"
    receipt["credentialSubject"]["identifier"][0]["identityHash"] = "Ann\nCc: boss@uni.example"
    message = delivery.compose(receipt, parse_email("x@uni.example"), config(25))
    text = message.as_string()
    assert "\nBcc:" not in text
    assert "\nCc:" not in text
    assert str(message["Subject"]).endswith("Data Bcc: everyone@uni.example")


@pytest.mark.parametrize("backend", BACKENDS)
def test_refused_recipients_are_recorded_and_a_rerun_sends_only_what_was_not_sent(backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path) as url, Store(url) as store:
        batch = anchored_batch(store, tmp_path)
        refused = {"anais@uni.example", "paivi@uni.example"}
        with smtp_server(refuse=refused) as server, Mailer(config(server.port)) as mailer:
            first = delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer)
            assert first.emailed == 2
            assert sorted(failure.address for failure in first.failures) == sorted(refused)
            assert all(failure.error.startswith("550 5.1.1") for failure in first.failures)
            assert store.delivery_counts(batch.id) == {"email": 2, "folder": 1, "failed": 2, "pending": 0}
            failed = [item for item in store.delivery_items(batch.id) if item.state == "failed"]
            assert {(item.attempts, item.error is not None) for item in failed} == {(1, True)}

            again = delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer)
            assert (again.emailed, again.already, len(again.failures)) == (0, 3, 2)
        assert len(server.received) == 2
        with smtp_server() as fixed, Mailer(config(fixed.port)) as mailer:
            last = delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer)
        assert (last.emailed, last.already, last.failures) == (2, 3, [])
        assert sorted(item.recipients[0] for item in fixed.received) == sorted(refused)
        assert store.delivery_counts(batch.id) == {"email": 4, "folder": 1, "failed": 0, "pending": 0}
        assert {item.attempts for item in store.delivery_items(batch.id) if item.email in refused} == {3}


def test_starttls_with_a_login(store: Store, tmp_path: Path, certificates: Certificates) -> None:
    batch = anchored_batch(store, tmp_path, {"FR": LEARNERS["FR"]})
    users = {"registrar": "s3cret ünïcode"}
    with smtp_server(certificates=certificates, mode="starttls", users=users) as server:
        secure = config(
            server.port,
            security="starttls",
            user="registrar",
            password="s3cret ünïcode",
            ca_file=certificates.authority,
        )
        with Mailer(secure) as mailer:
            assert delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer).emailed == 1
        (received,) = server.received
        assert received.tls
        assert received.login == "registrar"
        with (
            pytest.raises(DeliveryError, match="refused the login of 'registrar'"),
            Mailer(
                config(
                    server.port, security="starttls", user="registrar", password="wrong", ca_file=certificates.authority
                )
            ) as mailer,
        ):
            mailer.open()
        with (
            pytest.raises(DeliveryError, match="TLS failed: CERTIFICATE_VERIFY_FAILED"),
            Mailer(
                config(server.port, security="starttls", user="registrar", password="x")  # the system's authorities
            ) as mailer,
        ):
            mailer.open()


def test_starttls_is_never_given_up_for_a_plain_connection(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path, {"FR": LEARNERS["FR"]})
    with smtp_server() as plain, Mailer(config(plain.port, security="starttls")) as mailer:  # offers no STARTTLS
        with pytest.raises(DeliveryError, match="does not offer STARTTLS: refusing to send credentials in clear"):
            delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer)
        assert plain.received == []
    assert store.delivery_counts(batch.id)["pending"] == 1


def test_tls_from_the_start(store: Store, tmp_path: Path, certificates: Certificates) -> None:
    batch = anchored_batch(store, tmp_path, {"GR": LEARNERS["GR"]})
    with smtp_server(certificates=certificates, mode="tls") as server:
        with Mailer(config(server.port, security="tls", ca_file=certificates.authority)) as mailer:
            assert delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer).emailed == 1
        assert server.received[0].tls


def test_a_dropped_session_is_reopened(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = anchored_batch(store, tmp_path)
    real_send = smtplib.SMTP.send_message
    dropped = []

    def drop_once(self: smtplib.SMTP, *args: Any, **kwargs: Any) -> Any:
        if not dropped:
            dropped.append(1)
            self.close()  # as an idle timeout on the server's side would
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "send_message", drop_once)
    with smtp_server() as server, Mailer(config(server.port)) as mailer:
        summary = delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer)
    assert (summary.emailed, summary.failures) == (4, [])
    assert len(server.received) == 4


def test_messages_are_spaced_to_the_rate_limit(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path)
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    with smtp_server() as server, Mailer(config(server.port, rate_per_minute=2)) as mailer:
        delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out", mailer=mailer, sleep=sleep, clock=lambda: now[0])
    assert len(server.received) == 4
    assert slept == [30.0, 30.0, 30.0]  # the first at once, then one every 30 s


def test_to_dir_writes_every_learner_a_folder_and_sends_nothing(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path)
    summary = delivery.deliver(store, batch, ISSUER_ID, tmp_path / "all", everyone_to_folder=True)
    assert (summary.emailed, summary.folders) == (0, 5)
    assert len(list((tmp_path / "all").iterdir())) == 5
    counts = store.delivery_counts(batch.id)
    assert counts == {"email": 0, "folder": 1, "failed": 0, "pending": 4}  # e-mail learners still get their e-mail


def test_learners_with_addresses_need_an_smtp_server(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path)
    with pytest.raises(InvalidInputError, match="no SMTP server is configured"):
        delivery.deliver(store, batch, ISSUER_ID, tmp_path / "out")


def test_only_anchored_batches_are_delivered(store: Store, tmp_path: Path) -> None:
    batch = anchored_batch(store, tmp_path)
    built = store.update_batch(batch.id, state="sent")
    with pytest.raises(InvalidInputError, match="is sent, not anchored"):
        delivery.deliver(store, built, ISSUER_ID, tmp_path / "out")


def test_smtp_settings(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"only to a server on this machine, not to 'smtp\.uni\.example'"):
        SmtpConfig("smtp.uni.example", 25, "none", SENDER)
    assert SmtpConfig("::1", 25, "none", SENDER).host == "::1"
    with pytest.raises(InvalidInputError, match=r"smtp_from 'registrar': an e-mail address has exactly one '@'"):
        SmtpConfig("127.0.0.1", 25, "none", "registrar")
    env = {
        "ANCHOR_HOME": str(tmp_path),
        "ANCHOR_SMTP_HOST": "smtp.uni.example",
        "ANCHOR_SMTP_USER": "registrar",
        "ANCHOR_SMTP_FROM": SENDER,
        "ANCHOR_SMTP_SECURITY": "tls",
    }
    asked: list[int] = []
    made = SmtpConfig.from_settings(load_settings(env), lambda: asked.append(1) or "pw")
    assert made is not None
    assert (made.port, made.password, asked) == (465, "pw", [1])
    assert "pw" not in repr(made)
    assert SmtpConfig.from_settings(load_settings({"ANCHOR_HOME": str(tmp_path)}), lambda: "x") is None
    with pytest.raises(InvalidInputError, match="smtp_security: 'ssl' is not one of starttls, tls, none"):
        load_settings({**env, "ANCHOR_SMTP_SECURITY": "ssl"})
    (tmp_path / "config.toml").write_text('smtp_host = "smtp.uni.example"\nsmtp_password = "hunter2"\n')
    with pytest.raises(InvalidInputError, match="secrets never go in the config file") as refused:
        load_settings({"ANCHOR_HOME": str(tmp_path)})
    assert "hunter2" not in str(refused.value)
    assert "ANCHOR_SMTP_PASSWORD" in str(refused.value)


def test_folder_names_keep_letters_and_nothing_else() -> None:
    name = delivery._folder_name("../../etc/ Ölaf\u202e\x00 O'Brien", "urn:uuid:11111111-2222-4333-8444-555555555555")
    assert name == "etc_Ölaf_O_Brien-555555555555"
    assert delivery._folder_name("", "urn:uuid:x").startswith("learner-")
