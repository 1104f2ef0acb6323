"""The suite's proof, not the suite: the `reference` SIB (a message switch written from our docs)
with its durable `store`, and its `variants`: correct designs that must pass every check, and
faulty SIBs each breaking one rule, which the check of that rule must catch (`interop selftest`).
They speak to the mocks over HTTP as any SIB does, using the mocks' outbound client and backoff.
"""
