//! The CA lifecycle controller for PrivateCA and ClusterPrivateCA.
