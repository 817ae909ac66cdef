"""Wiclax generic acquisition protocol (ASCII over TCP): codec and transport."""
