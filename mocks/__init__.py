"""The mock federal endpoints: FBI CJIS (IAFIS), DHS IDENT, ICE LESC, the DRO and LEA inboxes."""
