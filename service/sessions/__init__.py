"""Live sessions: the single writer (`live.py`: `LiveSession`), what it shows (`views.py`), its
decoder links (`links.py`) and the reads they bring in (`intake.py`, `decoder_clock.py`), the times
it accepts (`time_bounds.py`), set-up commands (`setup.py`), every session of the service
(`manager.py`: `Manager`) and the HTTP routers (`api.py`, `reads_api.py`).
"""
