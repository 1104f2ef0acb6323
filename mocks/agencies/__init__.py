"""The agencies behind the endpoints, as rules over plain documents: `cjis` (what a submission
starts: the EBTS checks and ERRT, the IAFIS SRE, the IDENT search, the second response), `ident`
(the synthetic IDENT repository), `lesc` (IAQ, IAR, the DRO copy and detainer), `nlets` (NLETS's
channels and where LESC's IARs reach the switch), `steps` (a plan as timed steps and its message
templates) and `scenario` with the shipped `scenarios/`. They may use `storage` and `timing`; they
serve no request and send nothing.
"""
