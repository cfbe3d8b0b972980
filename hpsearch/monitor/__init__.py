"""Watching a study while it runs: the log line per told trial and the live progress bar
(`progress`), and the running trials' reports written for readers (`live`). The optimize loop
uses them; they read a study only through the small protocols they declare, so they sit below
`hpsearch.study` (the run listing readers use is `hpsearch.report.runs`)."""
