//! The controller that signs cert-manager CertificateRequests.
