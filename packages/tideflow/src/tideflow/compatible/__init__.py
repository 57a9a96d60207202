"""OneFlow v0.5's import path: ``from tideflow.compatible import single_client as flow``."""
