"""The conformance checks, one test per check, each naming its requirement."""
