"""scripts/gpu_check.py, the device check of the CUDA path (docs/gpu.md), kept from rotting
where there is no GPU: its whole report is made on the CPU (both sides the CPU: parity 0), and it
exits 1 saying CUDA is not available. The timings are cut to one call each here."""
from __future__ import annotations

import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "gpu_check.py")


@pytest.fixture()
def gpu_check(monkeypatch):
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr(mod, "timed", lambda fn, **_: (fn(), 1e-3)[1])
    return mod


def test_the_report_is_made_and_cuda_missing_is_a_failure(gpu_check, tmp_path, capsys):
    import onnxruntime as ort
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu here: run the script itself")
    out = tmp_path / "report.json"
    assert gpu_check.main(["--json", str(out)]) == 1
    text = capsys.readouterr().out
    assert "CUDAExecutionProvider is not available" in text and "GPU CHECK FAILED" in text
    report = json.loads(out.read_text())
    (m,) = report["models"]
    assert m["providers"] == ["CPUExecutionProvider"] and not m["cuda_in_use"]
    assert m["parity_cuda_vs_cpu_normalised"] == 0.0 and m["forecast_max_diff_s"] == 0.0
    assert set(m["speed"]) == {"run B=1", "run B=64", "run B=1024", "run B=8192",
                               "forecast_batch B=1", "forecast_batch B=64", "forecast_batch B=1024"}
    assert m["engine_long_term_finite"] and m["engine_fused_finite"]
    assert m["engine_health"]["clock-bolt"]["providers"] == ["CPUExecutionProvider"]
    # the CPU's timings are not filed as CUDA's (an audit, 2026-12-06)
    assert all("cuda" not in row and "default_providers" in row for row in m["speed"].values()), m["speed"]
    assert "the result is FAILED" in text and "nothing to check" not in text
