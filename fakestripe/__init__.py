"""fakestripe: the project's stateful Stripe emulator (tests, development and the demo).

Standalone (no Django). Use it in-process through `Emulator.stripe_client()` or over HTTP
with `fakestripe.server.EmulatorServer` / `python -m fakestripe`.
"""

from fakestripe.emulator import API_VERSION, Emulator

__all__ = ["API_VERSION", "Emulator"]
