//! One file per rule family.

pub mod configmap;
pub mod meta;
pub mod workload;
