"""Recordings played back: a loopback venue that serves them, and the headless replay."""
