"""Outputs to the timing world: the RMonitor scoreboard feed, result files, passings import.

`rmonitor` formats records (pure), `rmonitor_server` streams them over TCP, `files` writes the
PDF and spreadsheet CSVs, `passings_import` reads a backup decoder's export. Their HTTP routes are
`service/outputs/api.py`.
"""
