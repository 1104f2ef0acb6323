"""What the servers and handlers share about the wire, knowing nothing of the service: `bodies`
(what requests carry, read, capped and parsed), `strictjson` (strict JSON parsing), `problem`
(RFC 9457 errors naming the field and the rule), `onewrite` (a small response in one write),
`guard` (no lock-out by idle or slow clients: timeouts, caps, a reserve for `/health` and the
admin API) and `mailsecurity` (STARTTLS with a self-signed certificate made at start, AUTH PLAIN
and LOGIN).
"""
