"""Boucle service: live timing and race control (engine, rules, presets, HTTP/WebSocket, outputs)."""
