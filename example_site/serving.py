"""How the example site's websockets are served (the tests and benchmarks use the same options).

uvicorn's sans-I/O websocket implementation (the old one is deprecated and fails under churn), and
no per-message deflate: compressing 100-200 byte JSON frames saves little bandwidth but costs a
zlib state per socket and most of the CPU of a short-lived socket (docs/deployment.md has the
figures). Keep ``UVICORN_WS`` in the Makefile the same.
"""

UVICORN_WEBSOCKET_OPTIONS = ("--ws", "websockets-sansio", "--ws-per-message-deflate", "false")
