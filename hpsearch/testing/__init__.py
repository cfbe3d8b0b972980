"""Reusable test material for hpsearch and for third-party strategies and storages.

- `hpsearch.testing.benchmarks`: closed-form objectives with known minima (branin, hartmann6,
  styblinski_tang), each with its space (`BENCHMARKS[name]`); plain NumPy, used by the
  benchmark scripts and tests.
- `hpsearch.testing.strategies`: the strategy contract suite. Subclass `StrategyContract` in a
  pytest module and give it a `strategy_factory` fixture; every built-in strategy passes it.
- `hpsearch.testing.storage`: the storage contract suite. Subclass `StorageContract` and give
  it a `storage_factory` fixture (and `reopen` for a storage that outlives its process);
  `MemoryStorage` and `SqliteStorage` pass it.

The two suites import pytest (the `test` extra); hpsearch itself never imports them, and this
package imports none of its modules.
"""
