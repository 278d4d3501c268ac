"""A synthetic operator at benchmark scale (issue #10): millions of lines, drawn as columns.

``write_volume_reference`` writes the reference data of an operator of any size up to a few
million lines in seconds (docs/generator.md, "Reference data at scale").
"""

from pipelines.generate.volume.reference import VolumeReference, write_volume_reference

__all__ = ["VolumeReference", "write_volume_reference"]
