"""Opt-in pytest plugin: the detection layer judges with its pattern tier alone (no trained models).

``pytest -p tests.patterns_only ...`` separates what the rules do from how well the models read: a rule
test that passes here and fails with the models points at the models' figures (docs/detectors.md)."""

from __future__ import annotations

from middleware.detectors import layer

layer._default_layer.append(layer.DetectionLayer(use_models=False))
