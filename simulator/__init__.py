"""Transponder simulator: realistic races as scenario files or through the real protocols.

Never imports the engine (`service/`): it only speaks protocols and writes scenarios.
"""
