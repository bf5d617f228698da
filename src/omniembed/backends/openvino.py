"""``backend="openvino"`` (placeholder until the OpenVINO runner lands)."""

from omniembed.errors import ConfigError


def load_openvino_model(path, config, **kwargs):
    raise ConfigError("backend='openvino' is not available yet.")
