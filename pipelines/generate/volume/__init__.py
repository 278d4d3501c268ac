"""A synthetic operator at benchmark scale (issue #10): millions of lines, drawn as columns.

``write_volume_reference`` writes the reference data of an operator of any size up to a few
million lines in seconds (docs/generator.md, "Reference data at scale");
``write_volume_traffic`` writes its switch files, a day of a hundred records a line in
minutes (docs/generator.md, "Traffic at scale").
"""

from pipelines.generate.volume.reference import VolumeReference, write_volume_reference
from pipelines.generate.volume.traffic import VolumeTraffic, write_volume_traffic

__all__ = ["VolumeReference", "VolumeTraffic", "write_volume_reference", "write_volume_traffic"]
