"""kfuncfix: find every kfunc of a Linux kernel tree and rewrite its definitions."""

__version__ = "0.1.0"
