"""The paper venue's Binance Spot protocol: REST, market streams and the WebSocket API's user
data stream, over the same books, accounts and store as its Coinbase protocol. Written from
Binance's public API docs (the import contracts keep the engine out)."""
