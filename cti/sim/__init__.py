"""Simulation: SIPp callers and agents for the demo, tests and benchmarks."""
