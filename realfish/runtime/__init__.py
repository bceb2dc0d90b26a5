"""The emulation runtime: libreal in every daemon, a controller (broker) in this process."""

from realfish.runtime.emulation import Emulation

__all__ = ["Emulation"]
