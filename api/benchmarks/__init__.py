"""The benchmarks behind `stockpool bench` (a rebalance end to end) and `stockpool bench-api` (the API under load).

Tooling, not the domain: they measure time, memory and processes (`measure`), and load their data through the same
bulk path (`models.bulk`) and ledger rules (`pooling.ledger`) as everything else.
"""
