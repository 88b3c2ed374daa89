"""Reading and writing point clouds and meshes, chosen by file extension.

Point formats: ``.ply`` (ascii or binary, with or without normals; parsed by ``plyfile``), ``.xyz .xyzn .pts .txt``
(3 or 6 whitespace-separated columns; ``#`` and ``//`` comments), ``.pcd`` (ascii or binary),
``.npy`` ((N, 3) or (N, 6)) and ``.npz`` (``points`` and optional ``normals``). Mesh files
(``.obj .off .stl .glb`` and ``.ply`` with faces) are read as their vertices, or sampled on
their surface with ``sample=N``.

Every problem with an input raises `dgp.errors.InputError` (a ``ValueError``) with one line
that names the file and the problem. Writes are atomic.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from dgp.pointcloud import PointCloud
>>> path = os.path.join(tempfile.mkdtemp(), "c.ply")
>>> pts = np.random.default_rng(0).normal(size=(10, 3))
>>> write_points(path, PointCloud(pts, normals=pts))
>>> np.allclose(read_points(path).points, pts)
True
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from dgp.errors import InputError
from dgp.pointcloud import MIN_POINTS, PointCloud
from dgp.util import atomic_path

TEXT_EXTS = (".xyz", ".xyzn", ".pts", ".txt")
POINT_EXTS = (".ply", ".pcd", ".npy", ".npz") + TEXT_EXTS
MESH_EXTS = (".ply", ".obj", ".off", ".stl", ".glb")
WRITE_POINT_EXTS = (".ply", ".npz") + TEXT_EXTS


def _ext(path: Path) -> str:
    return path.suffix.lower()


def _check_file(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.is_dir():
        raise InputError("is a directory, not a file", path)
    return path


# --------------------------------------------------------------------------- PLY


def _read_ply(path: Path, **kw):
    """``plyfile.PlyData`` of ``path``; any parse error becomes one `InputError` line."""
    from plyfile import PlyData, PlyParseError

    try:
        with open(path, "rb") as fh:
            return PlyData.read(fh, **kw)
    except PlyParseError as exc:
        text = str(exc).replace("early end-of-file", "the file is truncated")
        raise InputError(f"not a valid PLY file: {text}", path) from None
    except MemoryError:
        raise InputError("the PLY header declares more data than fits in memory", path) from None
    except (ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise InputError(f"not a valid PLY file ({type(exc).__name__}: {str(exc)[:80]})", path) from None


def ply_face_count(path) -> int:
    """The number of faces a PLY file declares in its header (0 for a point cloud); reads only
    the header (the first 64 KB at most)."""
    path = _check_file(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if not head.startswith(b"ply") or b"end_header" not in head:
        raise InputError("not a PLY file (no 'ply' magic or no end_header in its first 64 KB)", path)
    found = re.search(rb"^element[ \t]+face[ \t]+(\d+)[ \t]*\r?$", head[: head.index(b"end_header")], re.M)
    return int(found.group(1)) if found else 0


def _read_ply_vertices(path: Path):
    """The vertex element of a PLY file as a structured array (maintained parser: ``plyfile``)."""
    ply = _read_ply(path, mmap="c")
    if "vertex" not in [el.name for el in ply.elements]:
        raise InputError("PLY file has no vertex element", path)
    vertex = ply["vertex"]
    if any(getattr(p, "len_dtype", None) for p in vertex.properties):
        raise InputError("PLY vertex element with list properties is not supported", path)
    return vertex.data


def _ply_to_cloud(vertices, path: Path) -> PointCloud:
    names = vertices.dtype.names or ()
    if not all(c in names for c in "xyz"):
        raise InputError("PLY vertex element lacks x, y, z properties", path)
    pts = np.stack([vertices[c].astype(np.float64) for c in "xyz"], axis=1)
    normals = None
    if all(c in names for c in ("nx", "ny", "nz")):
        normals = np.stack([vertices[c].astype(np.float64) for c in ("nx", "ny", "nz")], axis=1)
    return PointCloud(pts, normals, source=str(path))


# --------------------------------------------------------------------------- text, PCD, NumPy


_COMMENT = re.compile(r"(#|//).*$")


def _read_text(path: Path) -> PointCloud:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("is not a text file (not UTF-8)", path) from None
    rows, ncols, first = [], None, True
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = _COMMENT.sub("", raw).replace(",", " ").strip()
        if not line:
            continue
        tok = line.split()
        if first and _ext(path) == ".pts" and len(tok) == 1 and tok[0].isdigit():
            first = False  # the PTS point-count line
            continue
        first = False
        if len(tok) not in (3, 6):
            raise InputError(f"line {lineno} has {len(tok)} columns; expected 3 (x y z) or 6 (x y z nx ny nz)", path)
        if ncols is None:
            ncols = len(tok)
        elif len(tok) != ncols:
            raise InputError(f"line {lineno} has {len(tok)} columns; earlier lines have {ncols}", path)
        try:
            rows.append([float(t) for t in tok])
        except ValueError:
            bad = next(t for t in tok if not _is_float(t))
            raise InputError(f"line {lineno} has a non-numeric token {bad[:20]!r}", path) from None
    if not rows:
        raise InputError("the point cloud is empty", path)
    arr = np.asarray(rows, dtype=np.float64)
    return PointCloud(arr[:, :3], arr[:, 3:] if ncols == 6 else None, source=str(path))


def _is_float(t: str) -> bool:
    try:
        float(t)
        return True
    except ValueError:
        return False


def _read_pcd(path: Path) -> PointCloud:
    data = path.read_bytes()
    header, offset = {}, 0
    while True:
        nl = data.find(b"\n", offset)
        if nl < 0:
            raise InputError("PCD header is truncated (no DATA line)", path)
        try:
            line = data[offset:nl].decode("ascii").strip()
        except UnicodeDecodeError:
            raise InputError("PCD header is not ASCII text", path) from None
        offset = nl + 1
        if not line or line.startswith("#"):
            continue
        key, *vals = line.split()
        header[key.upper()] = vals
        if key.upper() == "DATA":
            break
    try:
        fields = header["FIELDS"]
        sizes = [int(s) for s in header["SIZE"]]
        types = header["TYPE"]
        counts = [int(c) for c in header.get("COUNT", ["1"] * len(fields))]
        npts = int(header["POINTS"][0]) if "POINTS" in header else int(header["WIDTH"][0]) * int(header["HEIGHT"][0])
        mode = header["DATA"][0].lower()
    except (KeyError, ValueError, IndexError):
        raise InputError("PCD header lacks or garbles FIELDS/SIZE/TYPE/POINTS/DATA", path) from None
    if not (len(fields) == len(sizes) == len(types) == len(counts)):
        raise InputError("PCD header FIELDS, SIZE, TYPE and COUNT differ in length", path)
    if any(c != 1 for c in counts):
        raise InputError("PCD fields with COUNT other than 1 are not supported", path)
    if mode == "ascii":
        lines = [ln for ln in data[offset:].decode("ascii", errors="replace").splitlines() if ln.strip()]
        if len(lines) < npts:
            raise InputError(f"PCD file is truncated: {npts} points declared, {len(lines)} found", path)
        try:
            arr = np.array([[float(t) for t in ln.split()] for ln in lines[:npts]], dtype=np.float64)
        except ValueError:
            raise InputError("PCD data has a non-numeric value or ragged rows", path) from None
        if arr.ndim != 2 or arr.shape[1] != len(fields):
            raise InputError(f"PCD rows must have {len(fields)} values", path)
        cols = {f: arr[:, i] for i, f in enumerate(fields)}
    elif mode == "binary":
        try:
            dtype = np.dtype(
                [(f, {"F": "<f", "I": "<i", "U": "<u"}[t.upper()] + str(s)) for f, s, t in zip(fields, sizes, types)]
            )
        except (KeyError, TypeError):
            raise InputError("PCD header has an unsupported TYPE/SIZE", path) from None
        if offset + npts * dtype.itemsize > len(data):
            raise InputError("binary PCD file is truncated", path)
        rec = np.frombuffer(data, dtype, npts, offset)
        cols = {f: rec[f].astype(np.float64) for f in fields}
    else:
        raise InputError(f"PCD DATA mode {mode!r} is not supported (use ascii or binary)", path)
    if not all(c in cols for c in "xyz"):
        raise InputError("PCD file lacks x, y, z fields", path)
    pts = np.stack([cols[c] for c in "xyz"], axis=1)
    nkeys = ("normal_x", "normal_y", "normal_z")
    normals = np.stack([cols[c] for c in nkeys], axis=1) if all(c in cols for c in nkeys) else None
    return PointCloud(pts, normals, source=str(path))


def _read_numpy(path: Path) -> PointCloud:
    try:
        obj = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises many types for a corrupt file
        raise InputError(f"cannot be read as a NumPy file ({type(exc).__name__})", path) from None
    if isinstance(obj, np.lib.npyio.NpzFile):
        with obj:
            if "points" not in obj.files:
                raise InputError(f"NPZ file has no 'points' array (has: {', '.join(obj.files) or 'nothing'})", path)
            try:
                pts = obj["points"]
                normals = obj["normals"] if "normals" in obj.files else None
            except Exception as exc:
                raise InputError(f"NPZ array cannot be read ({type(exc).__name__})", path) from None
        return PointCloud(pts, normals, source=str(path))
    arr = np.asarray(obj)
    if arr.ndim != 2 or arr.shape[1] not in (3, 6):
        raise InputError(f"NPY array must have shape (N, 3) or (N, 6), got {arr.shape}", path)
    return PointCloud(arr[:, :3], arr[:, 3:] if arr.shape[1] == 6 else None, source=str(path))


# --------------------------------------------------------------------------- public API


def read_points(path, sample: int | None = None, min_points: int = MIN_POINTS, seed: int = 0) -> PointCloud:
    """Read a point cloud (or a mesh's vertices) from ``path``.

    Parameters
    ----------
    path : str or Path; the extension picks the format (see the module docstring).
    sample : if given and the file is a mesh, sample this many points uniformly on its
        surface (with face normals) instead of returning its vertices.
    min_points : fewer points than this raise `InputError`.
    seed : seed of the surface sampling.

    Returns
    -------
    PointCloud with ``points (N, 3)`` and ``normals (N, 3)`` or None.

    Raises
    ------
    InputError
        Missing file, unknown extension, empty or too small cloud, NaN/Inf, wrong column
        count, non-numeric token, zero-length normals, truncated binary data.
    """
    path = _check_file(path)
    ext = _ext(path)
    if ext not in POINT_EXTS + MESH_EXTS:
        raise InputError(
            f"unknown extension {path.suffix!r}; readable: {' '.join(sorted(set(POINT_EXTS + MESH_EXTS)))}", path
        )
    if sample is not None or ext in (".obj", ".off", ".stl", ".glb"):
        if ext not in MESH_EXTS:
            raise InputError(f"sampling needs a mesh file ({' '.join(MESH_EXTS)})", path)
        mesh = read_mesh(path)
        if sample is None:
            cloud = PointCloud(mesh.vertices, source=str(path))
        else:
            cloud = sample_mesh(mesh, int(sample), seed=seed)
            cloud = PointCloud(cloud.points, cloud.normals, source=str(path))
    elif ext == ".ply":
        cloud = _ply_to_cloud(_read_ply_vertices(path), path)
    elif ext == ".pcd":
        cloud = _read_pcd(path)
    elif ext in (".npy", ".npz"):
        cloud = _read_numpy(path)
    else:
        cloud = _read_text(path)
    return cloud.require(min_points)


def write_points(path, cloud: PointCloud) -> None:
    """Write ``cloud`` to ``path`` atomically.

    ``.ply`` (binary, with normals if any), ``.xyz/.xyzn/.pts/.txt``, ``.npz``.
    """
    path = Path(path)
    ext = _ext(path)
    if ext not in WRITE_POINT_EXTS:
        raise InputError(f"cannot write points as {path.suffix!r}; writable: {' '.join(WRITE_POINT_EXTS)}", path)
    with atomic_path(path) as tmp:
        if ext == ".ply":
            _write_ply(tmp, cloud.points, cloud.normals)
        elif ext == ".npz":
            arrays = {"points": cloud.points}
            if cloud.normals is not None:
                arrays["normals"] = cloud.normals
            with open(tmp, "wb") as fh:
                np.savez_compressed(fh, **arrays)
        else:
            arr = cloud.points if cloud.normals is None else np.hstack([cloud.points, cloud.normals])
            np.savetxt(tmp, arr, fmt="%.17g")


def _write_ply(
    path: Path,
    points: np.ndarray,
    normals: np.ndarray | None = None,
    colors: np.ndarray | None = None,
    faces: np.ndarray | None = None,
    face_colors: np.ndarray | None = None,
    comment: str | None = None,
) -> None:
    """Binary little-endian PLY: float64 vertices with optional normals and colours (uchar), and
    optional triangles ``faces (F, 3)`` with optional RGBA ``face_colors (F, 4)``."""
    props = [(c, "<f8") for c in "xyz"]
    if normals is not None:
        props += [(c, "<f8") for c in ("nx", "ny", "nz")]
    if colors is not None:
        props += [(c, "u1") for c in ("red", "green", "blue")]
    rec = np.empty(len(points), dtype=np.dtype(props))
    for i, c in enumerate("xyz"):
        rec[c] = points[:, i]
    if normals is not None:
        for i, c in enumerate(("nx", "ny", "nz")):
            rec[c] = normals[:, i]
    if colors is not None:
        for i, c in enumerate(("red", "green", "blue")):
            rec[c] = colors[:, i]
    typ = {"<f8": "double", "u1": "uchar"}
    lines = ["ply", "format binary_little_endian 1.0", "comment written by dgp"]
    lines += [f"comment {comment}"] if comment else []
    lines += [f"element vertex {len(points)}"]
    lines += [f"property {typ[t]} {n}" for n, t in props]
    rgba = ("red", "green", "blue", "alpha")
    if faces is not None:
        lines += [f"element face {len(faces)}", "property list uchar int vertex_indices"]
        lines += [f"property uchar {c}" for c in rgba] if face_colors is not None else []
    lines.append("end_header")
    with open(path, "wb") as fh:
        fh.write(("\n".join(lines) + "\n").encode("ascii"))
        fh.write(rec.tobytes())
        if faces is not None:
            fields = [("n", "u1"), ("v", "<i4", (3,))] + ([(c, "u1") for c in rgba] if face_colors is not None else [])
            frec = np.empty(len(faces), dtype=fields)
            frec["n"] = 3
            frec["v"] = faces
            if face_colors is not None:
                for i, c in enumerate(rgba):
                    frec[c] = face_colors[:, i]
            fh.write(frec.tobytes())


def read_mesh(path):
    """Read a triangle mesh (``.ply .obj .off .stl .glb``) as a `trimesh.Trimesh`.

    Raises `InputError` for a missing, unreadable or empty mesh, or one with NaN/Inf vertices.
    """
    import trimesh

    path = _check_file(path)
    ext = _ext(path)
    if ext not in MESH_EXTS:
        raise InputError(f"unknown mesh extension {path.suffix!r}; readable: {' '.join(MESH_EXTS)}", path)
    try:
        mesh = trimesh.load(str(path), force="mesh", process=False)
    except Exception as exc:  # trimesh raises many types on garbage input
        raise InputError(f"cannot be read as a mesh ({type(exc).__name__}: {str(exc)[:80]})", path) from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.vertices) == 0:
        raise InputError("the mesh is empty", path)
    if len(mesh.faces) == 0:
        raise InputError("the mesh has no faces", path)
    if not np.isfinite(mesh.vertices).all():
        raise InputError("the mesh has NaN or Inf vertex coordinates", path)
    if mesh.faces.min() < 0 or mesh.faces.max() >= len(mesh.vertices):
        raise InputError("the mesh has face indices out of range", path)
    return mesh


#: largest float32 rounding of the coordinates, as a fraction of the typical spacing, that a mesh
#: file may carry; beyond it PLY vertices are written in float64 and float32-only formats refused
FLOAT32_TOLERANCE = 1e-3
#: mesh formats whose coordinates are float32 by definition
FLOAT32_FORMATS = (".stl", ".glb")


def float32_loss(points: np.ndarray) -> float:
    """The largest distance any coordinate of ``points (N, 3)`` moves when stored as float32.

    >>> float32_loss(np.array([[0.5, 1.25, 2.0]])), float32_loss(np.array([[16777217.0, 0, 0]]))  # 2**24 + 1
    (0.0, 1.0)
    """
    pts = np.asarray(points, dtype=np.float64)
    return float(np.abs(pts - pts.astype(np.float32).astype(np.float64)).max()) if pts.size else 0.0


def _edge_spacing(mesh) -> float:
    lengths = mesh.edges_unique_length
    lengths = lengths[lengths > 0]
    return float(np.median(lengths)) if len(lengths) else float(np.ptp(mesh.vertices, axis=0).max())


def write_mesh(path, mesh) -> None:
    """Write a `trimesh.Trimesh` (or ``(vertices (V,3), faces (F,3))``) atomically to ``.ply .obj .off .stl .glb``.

    Coordinates keep their precision: when float32 would move the vertices by more than
    `FLOAT32_TOLERANCE` of the median edge length (a scan far from its origin, as georeferenced
    LiDAR comes), a ``.ply`` is written with float64 vertices and a header comment saying so, and
    the float32-only formats (``.stl .glb``) are refused with `InputError`; ``.obj`` and ``.off``
    are written as text with enough digits.
    """
    import trimesh

    path = Path(path)
    ext = _ext(path)
    if ext not in MESH_EXTS:
        raise InputError(f"cannot write a mesh as {path.suffix!r}; writable: {' '.join(MESH_EXTS)}", path)
    if not isinstance(mesh, trimesh.Trimesh):
        vertices, faces = mesh
        mesh = trimesh.Trimesh(np.asarray(vertices), np.asarray(faces), process=False)
    spacing = _edge_spacing(mesh) if len(mesh.vertices) else 0.0
    loss = float32_loss(mesh.vertices) if ext in (".ply",) + FLOAT32_FORMATS else 0.0
    if loss > FLOAT32_TOLERANCE * spacing:
        if ext in FLOAT32_FORMATS:
            raise InputError(
                f"{ext} stores float32 coordinates, which would move these vertices by up to {loss:.3g} "
                f"(the median edge is {spacing:.3g}); write .ply, .obj or .off instead",
                path,
            )
        colors = None
        if mesh.visual.kind == "face":
            colors = np.asarray(mesh.visual.face_colors, dtype=np.uint8)
        note = f"vertices in float64: float32 would move them by up to {loss:.3g} (median edge {spacing:.3g})"
        with atomic_path(path) as tmp:
            _write_ply(tmp, np.asarray(mesh.vertices), faces=np.asarray(mesh.faces), face_colors=colors, comment=note)
        return
    kw = {}
    if ext in (".obj", ".off") and spacing > 0:
        # text formats: enough decimals for the tolerance at this mesh's scale (trimesh writes 8)
        kw["digits"] = max(8, int(np.ceil(-np.log10(FLOAT32_TOLERANCE * spacing))) + 1)
    with atomic_path(path) as tmp:
        mesh.export(str(tmp), **kw)


def sample_mesh(mesh, n: int, seed: int = 0) -> PointCloud:
    """Sample ``n`` points uniformly by area on ``mesh`` (a `trimesh.Trimesh`), with their face normals.

    Returns a `PointCloud` with ``points (n, 3)``, ``normals (n, 3)``.
    """
    import trimesh

    if n < 1:
        raise InputError(f"the number of samples must be positive, got {n}")
    pts, face = trimesh.sample.sample_surface(mesh, int(n), seed=seed)
    return PointCloud(np.asarray(pts), np.asarray(mesh.face_normals[face]))


def noisy_scan(mesh, n: int, noise: float, seed: int) -> PointCloud:
    """A synthetic scan of ``mesh``: ``n`` area-uniform samples with their face normals, plus
    isotropic Gaussian noise of standard deviation ``noise`` x bounding-box diagonal per coordinate.

    >>> import trimesh
    >>> scan = noisy_scan(trimesh.creation.icosphere(), 500, 0.01, seed=0)
    >>> scan.points.shape, scan.has_normals
    ((500, 3), True)
    """
    clean = sample_mesh(mesh, n, seed=seed)
    diag = float(np.linalg.norm(mesh.bounds[1] - mesh.bounds[0]))
    rng = np.random.default_rng(seed + 1)
    return PointCloud(clean.points + rng.normal(scale=noise * diag, size=clean.points.shape), clean.normals)


def read_any(path):
    """Read whatever ``path`` holds: a `trimesh.Trimesh` for a mesh file with faces, else a `PointCloud`.

    A ``.ply`` is a mesh when its header declares faces; ``.obj .off .stl .glb`` are meshes;
    every other readable extension is points.

    >>> import numpy as np, tempfile, os, trimesh
    >>> folder = tempfile.mkdtemp()
    >>> write_mesh(os.path.join(folder, "m.ply"), trimesh.creation.box())
    >>> write_points(os.path.join(folder, "p.ply"), PointCloud(np.random.default_rng(0).normal(size=(50, 3))))
    >>> type(read_any(os.path.join(folder, "m.ply"))).__name__, type(read_any(os.path.join(folder, "p.ply"))).__name__
    ('Trimesh', 'PointCloud')
    """
    path = _check_file(path)
    ext = _ext(path)
    if ext in MESH_EXTS and (ext != ".ply" or ply_face_count(path) > 0):
        return read_mesh(path)
    return read_points(path)


def describe(cloud: PointCloud, outliers: float | None = None, seed: int = 0) -> dict:
    """Summary of a cloud as a JSON-ready dict: count, bounding box, normals, noise estimate, point
    spacing, and the patch radius (a fraction of the diagonal), normal weight and local fit budget (steps,
    learning rate, schedule) and what the mesh is fit to that `dgp reconstruct` would choose, and the
    stray points ``dgp reconstruct --outliers`` would drop (``outliers``: its factor, the default's when
    None, 0 for none). The noise, spacing and the settings they call for are measured as
    `reconstruct` measures them: on the cloud without those strays, in its unit frame (``seed``: of the
    estimators' subsamples), and the fractions of a diagonal are of the kept points' (``kept_diagonal``);
    the count, box and ``diagonal`` are the file's."""
    from dgp.patches import (
        auto_radius,
        fit_budget_for,
        lr_schedule_for,
        mesh_from_for,
        normal_weight_for,
        surface_spacing,
    )
    from dgp.pointcloud import OUTLIER_FACTOR, estimate_noise, remove_outliers, unit_frame

    lo, hi = cloud.bbox
    diag = cloud.diagonal
    factor = OUTLIER_FACTOR if outliers is None else outliers
    kept, stray = remove_outliers(cloud, factor, seed=seed) if factor > 0 else (cloud, 0)
    if len(kept) < 4:  # too few kept to measure: none dropped (reconstruct keeps them all too)
        kept, stray = cloud, 0
    frame = unit_frame(kept.points)
    unit = frame.to_unit(kept.points)
    # in the unit frame (diagonal 1 of the kept points), as reconstruct estimates them; in file units here
    noise = estimate_noise(unit, seed=seed) * frame.scale
    spacing = surface_spacing(unit, seed=seed) * frame.scale
    steps, lr = fit_budget_for(noise, spacing)
    return {
        "file": cloud.source,
        "points": len(cloud),
        "bbox_min": lo.tolist(),
        "bbox_max": hi.tolist(),
        "diagonal": diag,
        "has_normals": cloud.has_normals,
        "noise_rms": noise,
        # fractions of the kept points' diagonal, as reconstruct's settings (--radius) take them
        "kept_diagonal": frame.scale,
        "noise_rms_of_diagonal": noise / frame.scale if diag > 0 else 0.0,
        "spacing": spacing,
        "auto_radius_of_diagonal": auto_radius(spacing / frame.scale, noise / frame.scale) if diag > 0 else 0.0,
        "auto_normal_weight": normal_weight_for(noise, spacing),
        "auto_local_steps": steps,
        "auto_lr": lr,
        "auto_lr_schedule": lr_schedule_for(noise, spacing),
        "auto_mesh_from": mesh_from_for(noise, spacing),
        "stray_points": stray,
    }
