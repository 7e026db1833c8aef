"""Runs: the typed run record and everything that reads it.

``record`` (the types), ``store`` (writing, atomically and journaled), ``reading`` (loading and
listing), ``history`` (each key's recent outcomes), ``stats`` (how sure a change is), ``compare``
(two runs → one ``Comparison``), ``diffs`` (its answer diffs) and ``merge`` (shards → one run).
Pure data and files: nothing here imports pytest, the engine or the report.
"""
