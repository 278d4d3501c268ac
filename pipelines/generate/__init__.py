"""The synthetic operator generator: reference exports, raw switch files and the ground
truth of the anomalies injected into them (see docs/generator.md)."""

from pipelines.generate.operator import GenerationSummary, generate_operator

__all__ = ["GenerationSummary", "generate_operator"]
