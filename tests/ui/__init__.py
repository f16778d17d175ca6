"""Browser tests: the real app in headless Chromium (see conftest.py)."""
