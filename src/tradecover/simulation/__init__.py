"""``tradecover simulate``: a policy's life replayed through the real services (SCENARIOS.md).

An entry-point layer, like the command line: it builds its own database and
container, and calls the services exactly as the API does.
"""

from __future__ import annotations

from tradecover.simulation.report import document, render
from tradecover.simulation.runner import SimulationResult, run_scenario
from tradecover.simulation.scenario import Scenario, load_scenario, parse_scenario

__all__ = ["Scenario", "SimulationResult", "document", "load_scenario", "parse_scenario", "render", "run_scenario"]
