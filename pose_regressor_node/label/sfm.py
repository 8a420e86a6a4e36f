"""Structure-from-motion of the keyframes with pycolmap (COLMAP 4, CPU): SIFT features, sequential
matching with quadratic overlap inside each drive plus pairs across drives, then incremental
mapping (or global mapping, GLOMAP, for large sets). All drives go into one model, so train,
validation and test labels share one frame.

Settings chosen for this use: the intrinsics from camera_info are fixed, not refined (they are
calibrated; refining them on a planar drive trades them against scale); matching runs on one
thread, since pycolmap's CPU matcher dropped matches for about 1 % of pairs at random with two;
feature extraction and mapping run on one thread too, and mapping is seeded. With two threads the
images enter the database in the order their features finish (their ids, which steer the mapper,
differ from run to run) and bundle adjustment sums in a different order: two runs on the keyframes
of one 30 s drive put cameras up to 1.2 cm apart, and one 60 s drive registered 196 of 213
keyframes in one run, all 213 in the next. With one thread two runs of ``label`` on the same bags
write the same labels (tests/label/test_label.py).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
from tqdm import tqdm

from ..errors import DatasetError
from ..geometry import Pose
from .camera import ColmapCamera

__all__ = ["SfmOptions", "SfmResult", "reconstruct"]


@dataclass(frozen=True)
class SfmOptions:
    overlap: int = 10  # sequential neighbours matched (plus quadratic ones further out)
    cross_drive_every: int = 4  # every n-th keyframe of a drive is matched with every n-th of each other drive
    mapper: str = "incremental"  # or "global"
    max_features: int = 4096
    extraction_threads: int = 1  # with more, images enter the database (and get their ids) in a random order
    mapping_threads: int = 1  # more is faster but not reproducible (bundle adjustment's summation order)
    seed: int = 0


@dataclass
class SfmResult:
    camera_to_world: Dict[str, Pose]  # image name -> camera pose in the SfM frame, registered images only
    points: np.ndarray  # (N, 3) the reconstructed points
    viewpoints: List[np.ndarray]  # for each point, (k, 3) the centres of the registered cameras that see it
    models: int  # how many separate models the mapper made (only the largest is used)
    path: Path  # the reconstruction, written for inspection


def _pycolmap():
    try:
        import pycolmap  # noqa: PLC0415 - the one module of the package that needs it
    except ImportError as err:
        raise DatasetError("label needs pycolmap (pip install pycolmap==4.2.1; x86-64 or macOS, Python 3.9+)") from err
    return pycolmap


def _cross_drive_pairs(names_by_drive: Sequence[Sequence[str]], every: int) -> List[str]:
    pairs = []
    for i, a in enumerate(names_by_drive):
        for b in names_by_drive[i + 1:]:
            pairs += [f"{x} {y}" for x in a[::every] for y in b[::every]]
    return pairs


def reconstruct(workdir: Path, image_dir: Path, names_by_drive: Sequence[Sequence[str]], camera: ColmapCamera,
                options: SfmOptions = SfmOptions(), progress: bool = True) -> SfmResult:
    pycolmap = _pycolmap()
    pycolmap.set_random_seed(options.seed)
    pycolmap.logging.minloglevel = 2  # warnings and errors only: the stages report through progress bars
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "database.db"
    database.unlink(missing_ok=True)
    names = [n for drive in names_by_drive for n in drive]
    stages = tqdm(total=4, desc="structure from motion", unit="stage", disable=not progress)
    stages.set_postfix_str(f"SIFT features of {len(names)} keyframes")
    _extract(pycolmap, database, image_dir, names, camera, options)
    stages.update()
    stages.set_postfix_str("sequential matching")
    matching = pycolmap.FeatureMatchingOptions()
    matching.num_threads = 1
    _match_sequential(pycolmap, database, matching, options)
    stages.update()
    pairs = _cross_drive_pairs(names_by_drive, options.cross_drive_every)
    stages.set_postfix_str(f"{len(pairs)} pairs across drives")
    _match_pairs(pycolmap, database, matching, pairs, workdir / "cross_drive_pairs.txt")
    stages.update()
    stages.set_postfix_str(f"{options.mapper} mapping")
    models = _map(pycolmap, database, image_dir, workdir / "sparse", len(names), options, progress)
    stages.update()
    stages.close()
    if not models:
        raise DatasetError("structure-from-motion found no model: the keyframes did not match each other; "
                           "record with more texture in view, drive more slowly, or keep more keyframes")
    best = max(models.values(), key=lambda r: r.num_reg_images())
    best.write_text(str(workdir))
    return _result(best, len(models), workdir)


def _extract(pycolmap, database: Path, image_dir: Path, names: List[str], camera: ColmapCamera,
             options: SfmOptions) -> None:
    """SIFT features of the keyframes, one shared camera with the known intrinsics."""
    reader = pycolmap.ImageReaderOptions()
    reader.camera_model, reader.camera_params = camera.model, camera.params_text
    extraction = pycolmap.FeatureExtractionOptions()
    extraction.num_threads = options.extraction_threads
    extraction.sift.max_num_features = options.max_features
    pycolmap.extract_features(database, image_dir, image_names=names, camera_mode=pycolmap.CameraMode.SINGLE,
                              reader_options=reader, extraction_options=extraction, device=pycolmap.Device.cpu)


def _match_sequential(pycolmap, database: Path, matching, options: SfmOptions) -> None:
    """Each keyframe against its neighbours in the recording (and at quadratic distances, for loops)."""
    sequential = pycolmap.SequentialPairingOptions()
    sequential.overlap, sequential.quadratic_overlap = options.overlap, True
    pycolmap.match_sequential(database, matching_options=matching, pairing_options=sequential,
                              device=pycolmap.Device.cpu)


def _match_pairs(pycolmap, database: Path, matching, pairs: List[str], pairs_file: Path) -> None:
    """The listed pairs (across drives: what ties several drives into one model)."""
    if not pairs:
        return
    pairs_file.write_text("\n".join(pairs) + "\n")
    imported = pycolmap.ImportedPairingOptions()
    imported.match_list_path = str(pairs_file)
    pycolmap.match_image_pairs(database, matching_options=matching, pairing_options=imported,
                               device=pycolmap.Device.cpu)


def _map(pycolmap, database: Path, image_dir: Path, sparse: Path, keyframes: int, options: SfmOptions,
         progress: bool) -> dict:
    """The reconstructions (by index) of the global or the incremental mapper; intrinsics held fixed."""
    if sparse.exists():
        shutil.rmtree(sparse)
    sparse.mkdir()
    if options.mapper == "global":
        mapper = pycolmap.GlobalPipelineOptions()
        mapper.random_seed = options.seed
        mapper.num_threads = options.mapping_threads
        return pycolmap.global_mapping(database, image_dir, sparse, mapper)
    mapper = pycolmap.IncrementalPipelineOptions()
    mapper.random_seed = options.seed
    mapper.num_threads = options.mapping_threads
    mapper.ba_refine_focal_length = False
    mapper.ba_refine_principal_point = False
    mapper.ba_refine_extra_params = False
    registered = tqdm(total=keyframes, desc="registering keyframes", unit="image", leave=False, disable=not progress)
    models = pycolmap.incremental_mapping(database, image_dir, sparse, mapper, next_image_callback=registered.update)
    registered.close()
    return models


def _result(reconstruction, models: int, workdir: Path) -> SfmResult:
    """Camera-to-world poses by image name, the points and, per point, the centres of the cameras that saw it."""
    poses, centres = {}, {}  # centres: by image id, as the points' tracks name the images
    for image_id, image in reconstruction.images.items():
        if not image.has_pose:
            continue
        world_from_cam = image.cam_from_world().inverse()
        poses[image.name] = Pose(np.asarray(world_from_cam.translation), _wxyz(world_from_cam.rotation))
        centres[image_id] = poses[image.name].position
    points = np.array([p.xyz for p in reconstruction.points3D.values()]).reshape(-1, 3)
    viewpoints = [np.array([centres[e.image_id] for e in p.track.elements if e.image_id in centres]).reshape(-1, 3)
                  for p in reconstruction.points3D.values()]
    return SfmResult(poses, points, viewpoints, models, workdir)


def _wxyz(rotation) -> np.ndarray:
    x, y, z, w = np.asarray(rotation.quat)  # Eigen order: x y z w
    return np.array([w, x, y, z])
