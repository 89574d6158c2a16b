"""A one-receipt ``anchor verify`` of a plain http endpoint imports no HTTP or TLS library (issue 13: < 0.2 s).

Not a timed test: a new process verifies one receipt (against :mod:`support.fake_chain`) through the real
command and says which modules it imported. :mod:`http.client` (with the :mod:`email` parser it needs) and
:mod:`ssl` cost a one-receipt run about a tenth of its time; the JSON-RPC client speaks HTTP/1.1 itself and
imports ssl for an https endpoint only, and the did:web and status-list fetchers import them when they
fetch. Nor is the IDNA codec loaded to resolve an ASCII host name.
"""

from __future__ import annotations

from pathlib import Path

from support.one_receipt import modules_of_one_receipt

#: Modules a one-receipt verification against an http endpoint must not import.
NOT_FOR_ONE_RECEIPT = {
    "http.client": "the stdlib HTTP client (anchor.chain.http_client speaks HTTP/1.1 itself)",
    "ssl": "TLS, for https endpoints and did:web documents only",
    "email.parser": "(imported by http.client)",
    "encodings.idna": "(imported to resolve a str host name)",
    "anchor.verifier.https_fetch": "did:web and status-list fetching",
}


def test_verifying_one_receipt_over_http_imports_no_http_or_tls_library(tmp_path: Path) -> None:
    modules = modules_of_one_receipt(tmp_path, seed=43, host="localhost")  # a name to resolve, as URLs have
    imported = {name: why for name, why in NOT_FOR_ONE_RECEIPT.items() if name in modules}
    assert imported == {}, f"a one-receipt verification imported: {imported}"
