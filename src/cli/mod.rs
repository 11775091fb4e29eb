//! The command line: local CA commands mirroring `aws acm-pca`, `crds` and `run`.
