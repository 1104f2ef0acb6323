"""What listens: `server` (the API under uvicorn), `smtp` (the mock CJIS's e-mail intake beside it)
and `inprocess` (the API under respx, in a vendor's own test process). The top of `mocks`.
"""
