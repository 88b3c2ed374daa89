"""Open3D viewer: interactive window and headless snapshots of point clouds, meshes and charts."""
