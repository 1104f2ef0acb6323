"""Protocol rules of IDENT/IAFIS Interoperability: offense levels, holidays, detainer timing."""
