"""Make `ros2 launch`'s machinery importable in the project's venv, for the launch tests.

`launch`, `launch_ros` and `composition_interfaces` are part of every ROS 2 install but not on
PyPI; their upstream sources sit in ../shared/vendor/ros2-launch-jazzy (see its SOURCE.md). This:

1. installs launch, launch_xml, launch_yaml and launch_ros from there (their other dependencies are
   pinned in requirements-dev.txt);
2. builds composition_interfaces (three .srv files launch_ros imports) with colcon and rosidl from
   the PyPI wheels, after pointing the wheels' exported CMake files at this venv's Python and numpy
   include folders (they name the wheel builder's /opt/python/...), and copies the result into the
   venv, where the ROS wheels' loader already finds libraries.

Run by `make test` when ../shared is present; idempotent. Usage: python tools/install_launch.py VENDOR_DIR
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "launch_deps"
WHEEL_PYTHON = "/opt/python/cp311-cp311"


def _patch_cmake_exports(prefix: Path) -> int:
    include = sysconfig.get_paths()["include"]
    numpy_include = numpy.get_include()
    patched = 0
    for path in (prefix / "share").rglob("*Export.cmake"):
        text = path.read_text()
        if WHEEL_PYTHON not in text:
            continue
        text = text.replace(f"{WHEEL_PYTHON}/include/python3.11", include)
        text = text.replace(f"{WHEEL_PYTHON}/lib/python3.11/site-packages/numpy/_core/include", numpy_include)
        path.write_text(text)
        patched += 1
    return patched


def _build_composition_interfaces(vendor: Path, prefix: Path) -> None:
    if BUILD.exists():
        shutil.rmtree(BUILD)
    (BUILD / "src").mkdir(parents=True)
    shutil.copytree(vendor / "composition_interfaces", BUILD / "src" / "composition_interfaces")
    env = dict(os.environ, CMAKE_PREFIX_PATH=str(prefix), AMENT_PREFIX_PATH=str(prefix),
               PATH=f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    build = subprocess.run([str(prefix / "bin" / "colcon"), "build", "--merge-install", "--cmake-args",
                            "-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={sys.executable}"],
                           cwd=BUILD, env=env, capture_output=True, text=True, check=False)
    if build.returncode != 0:
        sys.stderr.write(build.stdout[-4000:] + build.stderr[-4000:])
        log = BUILD / "log" / "latest_build" / "composition_interfaces" / "stderr.log"
        if log.exists():
            sys.stderr.write(log.read_text()[-4000:])
        raise SystemExit(f"colcon could not build composition_interfaces (exit {build.returncode}); see above")
    install = BUILD / "install" / "lib"
    for library in install.glob("libcomposition_interfaces__*.so"):
        shutil.copy2(library, prefix / "lib" / library.name)
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in (install / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages").iterdir():
        target = site / entry.name
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, target)


def main() -> int:
    vendor = Path(sys.argv[1]).resolve()
    prefix = Path(sys.prefix)
    start = time.perf_counter()
    packages = [str(vendor / name) for name in ("launch", "launch_xml", "launch_yaml", "launch_ros")]
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    *packages], check=True)
    patched = _patch_cmake_exports(prefix)
    _build_composition_interfaces(vendor, prefix)
    import launch_ros.actions  # noqa: F401 - the proof: it imports composition_interfaces.srv

    print(f"launch, launch_ros and composition_interfaces installed ({patched} CMake exports patched) "
          f"in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
