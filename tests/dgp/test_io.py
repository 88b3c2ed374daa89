"""Tests of `dgp.io`."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dgp.errors import InputError
from dgp.io import read_mesh, read_points, sample_mesh, write_mesh, write_points
from dgp.pointcloud import PointCloud


def _cloud(rng, n=50, normals=True):
    pts = rng.normal(size=(n, 3))
    nrm = rng.normal(size=(n, 3))
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    return PointCloud(pts, nrm if normals else None)


@pytest.mark.parametrize("ext", [".ply", ".xyz", ".xyzn", ".pts", ".txt", ".npz"])
@pytest.mark.parametrize("normals", [True, False])
def test_write_read_roundtrip(tmp_path, rng, ext, normals):
    cloud = _cloud(rng, normals=normals)
    path = tmp_path / f"c{ext}"
    write_points(path, cloud)
    back = read_points(path)
    np.testing.assert_array_equal(back.points, cloud.points)
    if normals:
        np.testing.assert_allclose(back.normals, cloud.normals, rtol=0, atol=1e-15)
    else:
        assert back.normals is None


def _ply_header(fmt, n, normals, faces=0):
    h = [
        "ply",
        f"format {fmt} 1.0",
        "comment test",
        f"element vertex {n}",
        "property float x",
        "property float y",
        "property float z",
    ]
    if normals:
        h += ["property float nx", "property float ny", "property float nz"]
    h += ["property uchar red"]
    if faces:
        h += [f"element face {faces}", "property list uchar int vertex_indices"]
    return ("\n".join(h + ["end_header"]) + "\n").encode()


@pytest.mark.parametrize("normals", [True, False])
@pytest.mark.parametrize("fmt", ["ascii", "binary_little_endian", "binary_big_endian"])
def test_ply_variants(tmp_path, rng, fmt, normals):
    cloud = _cloud(rng, 20, normals)
    cols = [cloud.points] + ([cloud.normals] if normals else [])
    arr = np.hstack(cols).astype(np.float32)
    red = np.arange(20, dtype=np.uint8)
    path = tmp_path / "v.ply"
    if fmt == "ascii":
        body = "".join(" ".join(f"{v:.9g}" for v in row) + f" {r}\n" for row, r in zip(arr, red)).encode()
    else:
        e = "<" if fmt == "binary_little_endian" else ">"
        dt = np.dtype([("v", e + "f4", (arr.shape[1],)), ("r", "u1")])
        rec = np.empty(20, dt)
        rec["v"], rec["r"] = arr, red
        body = rec.tobytes()
    path.write_bytes(_ply_header(fmt, 20, normals) + body)
    back = read_points(path)
    np.testing.assert_allclose(back.points, arr[:, :3], rtol=1e-6)
    assert back.has_normals == normals


def _write_pcd(path, cloud, mode):
    fields = "x y z normal_x normal_y normal_z"
    head = (
        f"# .PCD v0.7\nVERSION 0.7\nFIELDS {fields}\nSIZE 8 8 8 8 8 8\nTYPE F F F F F F\nCOUNT 1 1 1 1 1 1\n"
        f"WIDTH {len(cloud)}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {len(cloud)}\nDATA {mode}\n"
    ).encode()
    arr = np.hstack([cloud.points, cloud.normals])
    body = (
        arr.astype("<f8").tobytes()
        if mode == "binary"
        else "".join(" ".join(repr(float(v)) for v in row) + "\n" for row in arr).encode()
    )
    path.write_bytes(head + body)


@pytest.mark.parametrize("mode", ["ascii", "binary"])
def test_pcd(tmp_path, rng, mode):
    cloud = _cloud(rng)
    _write_pcd(tmp_path / "c.pcd", cloud, mode)
    back = read_points(tmp_path / "c.pcd")
    np.testing.assert_array_equal(back.points, cloud.points)
    np.testing.assert_allclose(back.normals, cloud.normals, atol=1e-15)


@pytest.mark.parametrize("cols", [3, 6])
def test_npy(tmp_path, rng, cols):
    arr = rng.normal(size=(30, cols))
    np.save(tmp_path / "c.npy", arr)
    back = read_points(tmp_path / "c.npy")
    np.testing.assert_array_equal(back.points, arr[:, :3])
    assert back.has_normals == (cols == 6)


def test_text_comments_and_pts_count(tmp_path):
    (tmp_path / "a.xyz").write_text("# header\n0 0 0\n\n1 0 0 // trailing\n0 1 0\n0 0 1\n")
    assert len(read_points(tmp_path / "a.xyz")) == 4
    (tmp_path / "a.pts").write_text("4\n0 0 0\n1 0 0\n0 1 0\n0 0 1\n")
    assert len(read_points(tmp_path / "a.pts")) == 4


def _box():
    import trimesh

    return trimesh.creation.box(extents=(1.0, 2.0, 3.0))


@pytest.mark.parametrize("ext", [".ply", ".obj", ".off", ".stl", ".glb"])
def test_mesh_roundtrip(tmp_path, ext):
    box = _box()
    path = tmp_path / f"m{ext}"
    write_mesh(path, box)
    back = read_mesh(path)
    assert np.isclose(back.area, box.area)
    assert np.isclose(abs(back.volume), box.volume)
    cloud = read_points(path)  # a mesh read as points: its vertices
    assert set(map(tuple, np.round(cloud.points, 6))) == set(map(tuple, np.round(box.vertices, 6)))
    sampled = read_points(path, sample=500, seed=3)
    assert len(sampled) == 500 and sampled.has_normals
    assert np.all(np.abs(sampled.points) <= np.array([0.5, 1.0, 1.5]) + 1e-9)


def test_write_mesh_tuple(tmp_path):
    box = _box()
    write_mesh(tmp_path / "t.ply", (box.vertices, box.faces))
    assert len(read_mesh(tmp_path / "t.ply").faces) == 12


def test_sample_mesh_on_surface():
    box = _box()
    c = sample_mesh(box, 1000, seed=0)
    # every sample lies on a face of the box
    on_face = np.isclose(np.abs(c.points), [0.5, 1.0, 1.5]).any(axis=1)
    assert on_face.all()


def _bad_inputs(tmp_path):
    """name -> (path, fragment of the message)."""
    good_ply = tmp_path / "good.ply"
    write_points(good_ply, PointCloud(np.random.default_rng(0).normal(size=(100, 3))))
    data = good_ply.read_bytes()
    cases = {
        "missing": (tmp_path / "nope.xyz", None, "no such file"),
        "extension": (tmp_path / "a.foo", "0 0 0\n", "unknown extension"),
        "empty": (tmp_path / "empty.xyz", "# nothing\n", "empty"),
        "few": (tmp_path / "few.xyz", "0 0 0\n1 1 1\n", "at least"),
        "nan": (tmp_path / "nan.xyz", "0 0 0\n1 nan 1\n2 2 2\n3 3 4\n4 5 6\n", "NaN or Inf"),
        "inf": (tmp_path / "inf.xyz", "0 0 0\n1 inf 1\n2 2 2\n3 3 4\n4 5 6\n", "NaN or Inf"),
        "columns": (tmp_path / "cols.xyz", "0 0 0\n1 1\n", "columns"),
        "token": (tmp_path / "tok.xyz", "0 0 0\n1 abc 1\n", "non-numeric"),
        "zero_normal": (tmp_path / "zn.xyz", "0 0 0 0 0 1\n1 0 0 0 0 0\n0 1 0 0 0 1\n1 1 1 1 0 0\n", "zero length"),
        "truncated": (tmp_path / "trunc.ply", data[: len(data) - 100], "truncated"),
    }
    for path, content, _ in cases.values():
        if content is not None:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return cases


CASES = ["missing", "extension", "empty", "few", "nan", "inf", "columns", "token", "zero_normal", "truncated"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_api(tmp_path, case):
    path, _, fragment = _bad_inputs(tmp_path)[case]
    with pytest.raises(InputError) as info:
        read_points(path)
    msg = str(info.value)
    assert fragment in msg and str(path) in msg and "\n" not in msg
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("case", CASES)
def test_bad_input_cli(tmp_path, case):
    path, _, fragment = _bad_inputs(tmp_path)[case]
    out = tmp_path / "out" / "converted.ply"
    proc = subprocess.run(
        [sys.executable, "-m", "dgp.cli", "convert", str(path), str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert not out.exists()
    assert not out.parent.exists() or not any(out.parent.iterdir())


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    import dgp.io

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dgp.io, "_write_ply", boom)
    with pytest.raises(RuntimeError):
        write_points(tmp_path / "x.ply", PointCloud(np.zeros((5, 3))))
    assert list(tmp_path.iterdir()) == []


READ_EXTS = [".ply", ".xyz", ".pts", ".pcd", ".npy", ".npz", ".obj", ".off", ".stl"]


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=400), ext=st.sampled_from(READ_EXTS))
def test_fuzz_random_bytes(tmp_path, data, ext):
    path = tmp_path / f"f{ext}"
    path.write_bytes(data)
    try:
        cloud = read_points(path)
    except InputError:
        return
    assert np.isfinite(cloud.points).all() and len(cloud) >= 4


_token = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10, 10).map(str),
    st.text(alphabet="abcxyz.-+e#/ \t", max_size=5),
)


_line = st.lists(_token, min_size=0, max_size=8).map(" ".join)


@FUZZ
@given(
    lines=st.lists(_line, max_size=12),
    ext=st.sampled_from([".xyz", ".xyzn", ".pts", ".txt", ".ply", ".pcd"]),
    header=st.sampled_from(
        [
            "",
            "ply\nformat ascii 1.0\nelement vertex 5\nproperty float x\nproperty float y\n"
            "property float z\nend_header\n",
            "FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 5\nDATA ascii\n",
        ]
    ),
)
def test_fuzz_malformed_text(tmp_path, lines, ext, header):
    path = tmp_path / f"t{ext}"
    path.write_text(header + "\n".join(lines))
    try:
        cloud = read_points(path)
    except InputError:
        return
    assert np.isfinite(cloud.points).all() and len(cloud) >= 4


@pytest.mark.parametrize("fmt", ["ascii", "binary_little_endian"])
def test_ply_header_declaring_more_than_the_file_holds(tmp_path, fmt):
    # a header that declares 4 billion vertices must not allocate them nor hang: one line, exit 2
    path = tmp_path / "huge.ply"
    head = f"ply\nformat {fmt} 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\n"
    path.write_bytes((head + "end_header\n").encode() + (b"1 2 3\n4 5 6\n" if fmt == "ascii" else bytes(120)))
    with pytest.raises(InputError) as info:
        read_points(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_read_any_tells_meshes_from_points_by_the_header(tmp_path):
    from dgp.io import ply_face_count, read_any

    write_mesh(tmp_path / "m.ply", _box())
    write_points(tmp_path / "p.ply", PointCloud(np.random.default_rng(0).normal(size=(30, 3))))
    assert ply_face_count(tmp_path / "m.ply") == 12 and ply_face_count(tmp_path / "p.ply") == 0
    assert len(read_any(tmp_path / "m.ply").faces) == 12 and len(read_any(tmp_path / "p.ply")) == 30
