"""The provider registry: one explicit dict from provider id to class. Adding a provider is one module and one line.

Nothing is discovered by import side effects (healthchecks' TRANSPORTS, not allauth's registry).
"""

from __future__ import annotations

from imagegen.catalog import ModelSpec

from .base import (
    CheckResult,
    Connection,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    Provider,
)
from .comfyui import ComfyUIProvider
from .errors import (
    ERROR_CLASSES,
    AuthenticationError,
    BadRequestError,
    BadResponseError,
    ContentPolicyError,
    ProviderError,
    QuotaExhaustedError,
    RateLimitedError,
    UnavailableError,
)
from .openai import OpenAIProvider
from .openrouter import OpenRouterProvider
from .stable_diffusion import StableDiffusionProvider

PROVIDERS: dict[str, type[Provider]] = {
    "openai": OpenAIProvider,
    "openrouter": OpenRouterProvider,
    "stable-diffusion": StableDiffusionProvider,
    "comfyui": ComfyUIProvider,
}


def model_spec(provider_id: str, model_id: str) -> ModelSpec | None:
    """The rules of a model from its provider's families, without asking the upstream (None if unknown)."""
    cls = PROVIDERS.get(provider_id)
    return cls.spec_for(model_id) if cls is not None else None


def provider_label(provider_id: str) -> str:
    cls = PROVIDERS.get(provider_id)
    return cls.label if cls is not None else provider_id


def get_provider(provider_id: str, connection: Connection, **kwargs) -> Provider:
    """The provider for `provider_id`, connected; kwargs (sleep, session) go to the constructor."""
    try:
        cls = PROVIDERS[provider_id]
    except KeyError:
        raise ValueError(f"Unknown image provider {provider_id!r}; known: {', '.join(PROVIDERS)}") from None
    return cls(connection, **kwargs)


__all__ = [
    "ERROR_CLASSES",
    "PROVIDERS",
    "AuthenticationError",
    "BadRequestError",
    "BadResponseError",
    "CheckResult",
    "Connection",
    "ContentPolicyError",
    "GeneratedImage",
    "GenerationRequest",
    "GenerationResult",
    "Provider",
    "ProviderError",
    "QuotaExhaustedError",
    "RateLimitedError",
    "UnavailableError",
    "get_provider",
    "model_spec",
    "provider_label",
]
