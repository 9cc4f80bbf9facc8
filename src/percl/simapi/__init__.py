"""The control API of the simulated phone network (mounted at /sim/v1)."""

from percl.simapi.app import create_sim_api
from percl.simapi.ports import SimApiDeps, SimControl

__all__ = ["SimApiDeps", "SimControl", "create_sim_api"]
