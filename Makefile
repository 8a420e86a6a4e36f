# Two commands on a fresh machine: `make test` and `make demo`. Each creates .venv itself.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python

# DDS never leaves this machine: discovery on loopback only, and a domain of our own.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_DOMAIN_ID ?= 57
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))

# Modules that run on the robot must import on Python 3.8 (Jetson containers).
ROBOT_MODULES := pose_regressor_node/geometry.py pose_regressor_node/measurements.py pose_regressor_node/messages.py \
	pose_regressor_node/errors.py pose_regressor_node/metadata.py pose_regressor_node/settings.py \
	pose_regressor_node/optional.py pose_regressor_node/images.py pose_regressor_node/paths.py \
	pose_regressor_node/error_shape.py pose_regressor_node/error_map.py \
	pose_regressor_node/model pose_regressor_node/inference pose_regressor_node/fusion pose_regressor_node/ros \
	pose_regressor_node/jetson

# The upstream ROS 2 launch sources (not on PyPI), beside the checkout in CI and in this workplace.
LAUNCH_VENDOR := $(abspath $(CURDIR)/../shared/vendor/ros2-launch-jazzy)

.PHONY: test lint vermin pytest demo bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# launch + launch_ros + composition_interfaces for the launch tests (skipped, with a reason, without them)
$(VENV)/.launch: $(VENV)/.installed tools/install_launch.py
	if [ -d "$(LAUNCH_VENDOR)" ]; then $(PY) tools/install_launch.py "$(LAUNCH_VENDOR)"; \
	else echo "no $(LAUNCH_VENDOR): the launch tests will skip"; fi
	touch $@

test: lint vermin pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check pose_regressor_node tests bench launch tools
	$(PY) -m mypy

vermin: $(VENV)/.installed
	$(VENV)/bin/vermin --no-tips --violations --target=3.8- $(ROBOT_MODULES)

pytest: $(VENV)/.installed $(VENV)/.launch
	$(PY) -m pytest

# The main job on the bundled demo model: the nodes over DDS on the demo drive, scored.
demo: $(VENV)/.installed
	$(PY) -m pose_regressor_node demo

clean:
	rm -rf $(VENV) .pytest_cache build
