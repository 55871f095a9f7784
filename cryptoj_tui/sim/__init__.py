"""The paper venue: a Coinbase Advanced Trade–compatible exchange that runs on loopback.

Written from the public protocol (../shared/PROTOCOL.md), never from the engine's code: it
imports nothing from `cryptoj_tui.engine`, so it cannot merely agree with our own client.
"""
