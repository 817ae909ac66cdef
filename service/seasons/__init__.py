"""Season championships: standings across events (RULES.md LM-POINTS, AX-POINTS, CC-POINTS, CC-KIDS).

Pure: a season (championship name + events, each with its sessions' results JSON) in, standings
out. `model` aggregates and breaks ties, `rules` holds one small object per championship,
`presets/` the numbers as data, `loader` reads season files, `standings` puts them together, `cc`
the cross-country helpers (CC-SPRINT start lines, CC-CLASSES, CC-KIDS on results rows), `export` CSV
and the printable sheet.
Around it: `service/seasons/service.py` (commands over stored seasons and live documents),
`service/seasons/store.py` (the files), `service/seasons/api.py` (the HTTP routes).
"""
