"""gensynth.explain: explainers, critical factors, impact metrics, the HTML audit report."""
