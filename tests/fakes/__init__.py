"""Fakes of the venues the adapters talk to, served on 127.0.0.1 for tests."""
