"""A real HTTPS server on 127.0.0.1 serving did:web documents, with a certificate authority made for the test.

The certificate (for ``localhost``) is signed by a throwaway CA made with ``cryptography``; a verifier trusts it
only through an explicit CA bundle (:attr:`DidWebServer.ca_bundle`), as ``--did-ca-bundle`` does, so the system's
authorities (production behaviour) refuse it. Each path answers with what :attr:`DidWebServer.routes` says: a
document, or a function that writes any answer (slow, huge, redirecting...).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

Route = dict[str, Any] | Callable[[BaseHTTPRequestHandler], None]


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for ``localhost`` signed by it: (ca.pem, server.pem, server-key.pem)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("anchor test CA"))
        .issuer_name(_name("anchor test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server-key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_path, cert_path, key_path


class DidWebServer:
    """HTTPS on 127.0.0.1 (name ``localhost``); ``routes`` maps a path to a document or a writer function."""

    def __init__(self, folder: Path) -> None:
        self.ca_bundle, cert, key = make_certificates(folder)
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                server.requests.append(self.path)
                route = server.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                elif callable(route):
                    route(self)
                else:
                    send_json(self, route)

            def log_message(self, *args: Any) -> None:
                pass

            def handle(self) -> None:
                with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):  # the client gave up
                    super().handle()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def did(self, *segments: str) -> str:
        """The did:web DID served here at ``segments`` (none: ``/.well-known/did.json``)."""
        return ":".join([f"did:web:localhost%3A{self.port}", *segments])

    def path(self, *segments: str) -> str:
        """The path of the document of :meth:`did` ``(*segments)``."""
        return "/" + "/".join(segments or (".well-known",)) + "/did.json"

    def serve(self, document: Route, *segments: str) -> str:
        """Serve ``document`` as the DID document at ``segments``; its DID."""
        self.routes[self.path(*segments)] = document
        return self.did(*segments)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send_json(handler: BaseHTTPRequestHandler, document: Any, status: int = 200) -> None:
    data = json.dumps(document).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/did+json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def did_document(did: str, keys: dict[str, str], *, assertion: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A did:web document of ``did`` with Multikey methods ``keys`` (fragment -> publicKeyMultibase).

    ``assertion`` lists the fragments under assertionMethod (default: all); ``extra`` adds or replaces members.
    """
    document: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did,
        "verificationMethod": [
            {"id": f"{did}#{name}", "type": "Multikey", "controller": did, "publicKeyMultibase": public}
            for name, public in keys.items()
        ],
        "assertionMethod": [f"{did}#{name}" for name in (keys if assertion is None else assertion)],
    }
    document.update(extra)
    return document
