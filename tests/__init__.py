"""Boucle test suite (pytest); shared helpers are in conftest.py and the *_helpers.py modules."""
