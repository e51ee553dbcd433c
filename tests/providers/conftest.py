from emulated_org import emu, providers

__all__ = ["emu", "providers"]
