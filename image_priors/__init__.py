"""Image priors for inverse problems: untrained networks f_θ(z) fit to one observation."""

__version__ = "0.1.0"
