"""The stand-in upstream: a local HTTP server speaking OpenAI's, OpenRouter's, AUTOMATIC1111's and ComfyUI's APIs.

Tests only; the app reaches it by URL through its normal settings, never by import.
"""

from .client import StandinClient, StandinProcess
from .server import StandinServer

__all__ = ["StandinClient", "StandinProcess", "StandinServer"]
