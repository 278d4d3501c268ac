"""The tax benchmark end to end on a few charges (scripts/bench_taxes.py; no timing)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import bench_taxes as bench


def test_bench_runs_and_agrees_with_the_reference(tmp_path, capsys):
    found = bench.main(
        ["--charges", "600", "--reference-charges", "300", "--json", str(tmp_path / "t.json")]
    )
    assert found["mismatches"] == 0
    assert found["reference_charges"] == 300
    assert found["tax_lines"] > 600  # several lines a charge
    assert 30 <= found["rules"] <= 40 and found["tax_areas"] >= 200
    assert json.loads((tmp_path / "t.json").read_text())["tax_lines"] == found["tax_lines"]
    assert "| engine | 600 |" in capsys.readouterr().out


def test_generated_charges_cover_every_status_path_the_bench_needs():
    ruleset = bench.build_ruleset()
    table = bench.generate_charges(2_000, 1, ruleset)
    assert table.num_rows == 2_000
    assert table["is_tax_inclusive"].to_numpy().any()
    assert (table["amount_micros"].to_numpy() < 0).any()
    assert table["interstate_share_ppm"].null_count < 2_000
