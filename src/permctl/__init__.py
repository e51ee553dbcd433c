"""permctl: declarative permissions-as-code for Alibaba Cloud ASM RBAC and CloudSSO."""

__version__ = "0.1.0"
