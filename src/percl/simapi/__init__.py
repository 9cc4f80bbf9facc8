"""The control API of the simulated phone network (mounted at /sim/v1)."""

from percl.simapi.app import create_sim_api
from percl.simapi.ports import SimApiDeps

__all__ = ["SimApiDeps", "create_sim_api"]
