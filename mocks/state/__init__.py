"""The mocks' state in one place: `service` (`MockService`: clock, ledger, scheduler, scenario,
repository and courier together; every change in the ledger before a request is answered) and
`firing` (timers falling due: planning a submission's responses, stamping and owing them). It
stands on the agencies, the delivery, the ledger and time; the handlers stand on it.
"""
