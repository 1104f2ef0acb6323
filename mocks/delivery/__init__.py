"""What the mocks send out: the `courier` (deliveries owed until taken, retried with the backoff,
recorded in the ledger) over `client` (outbound HTTP: a lean keep-alive pool, or an injected httpx
transport) and `mailer` (deliveries by e-mail through an SMTP relay, over STARTTLS when offered).
"""
