"""The ledger: everything the mocks took, sent and owe, in SQLite. `ledger` (`Ledger`: group
commit, not writable while its disk is full and probed until it writes again) with its `records`
(rows and the write operations), `bulk` (a group's operations as few statements), `reads` (paged
queries) and `checkpoint` (the WAL copied into the database by a thread of its own). It may use
`timing`; it knows no agency and no HTTP.
"""
