"""The conformance suite run against a SIB: the pytest plugin, the harness and the checks, and the
runs built on them (demo, check, self-test, replay)."""
