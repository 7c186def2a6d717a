"""sparsernn: study and use sparse recurrent neural networks."""

__version__ = "0.1.0"
