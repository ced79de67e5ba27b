"""惠企 Huiqi — industrial policy as code."""

__version__ = "0.1.0"
