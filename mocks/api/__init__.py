"""The HTTP API: `app` (the one route table) and its handlers by concern: `intake`
(`POST /cjis/submissions`, the hot path, a lean ASGI app), `endpoints` (IDENT, LESC, LEA inboxes,
health), `nlets` (`POST /nlets/messages`) and `admin` (behind the admin token); `openapi` is the
document that describes them.
"""
