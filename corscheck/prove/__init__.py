"""Proofs in a real browser: each finding's evidence request replayed in headless Chromium (run.py
drives it; replay.py and pages.py say what a replay is, pure), and proof-of-concept pages (poc.py).
The proof itself is a value of the finding model (evaluate/proof.py)."""
