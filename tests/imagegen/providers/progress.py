"""Progress callbacks for provider tests: a provider reports (fraction, preview=…) as the job monitor takes it."""

from __future__ import annotations

from imagegen.providers.results import Preview


def record(fractions: list[float], previews: list[Preview] | None = None):
    """A callback appending each reported fraction (and preview, when a list is given)."""

    def callback(fraction: float | None, preview: Preview | None = None) -> None:
        if fraction is not None:
            fractions.append(fraction)
        if preview is not None and previews is not None:
            previews.append(preview)

    return callback


def ignore(fraction: float | None, preview: Preview | None = None) -> None:
    """Someone watches, and does nothing with what they see (the provider still follows the job live)."""
