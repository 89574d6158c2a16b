"""The issuer's side: intake, store, nightly batch, durable sending, receipts, revocation."""
