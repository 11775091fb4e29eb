//! privateca-issuer binary.

fn main() {}
