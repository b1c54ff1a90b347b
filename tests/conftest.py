"""Settings shared by every unit test."""

from hypothesis import settings

# No Hypothesis test may depend on wall-clock time: a busy CI machine must not turn a slow
# example into a failure. Example counts stay bounded per test.
settings.register_profile("xfrmctl", deadline=None)
settings.load_profile("xfrmctl")
