"""Time in the mocks: the `VirtualClock` (manual, realtime or scaled), the `Scheduler` of
near-due timers (the rest paged in from the ledger as they come near), and `Backoff`, the one retry
policy every delivery and probe follows. Nothing here knows a message or a table.
"""
